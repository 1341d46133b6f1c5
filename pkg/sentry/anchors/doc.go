// Package anchors keeps the trust anchors in every namespace that runs Dapr
// workloads: a ConfigMap named dapr-trust-bundle whose key ca.crt holds the
// current roots of Sentry's trust bundle. Workloads mount it as a file
// (pkg/security's TrustAnchorsFile), which the kubelet updates in place, so
// a root added for a rotation is trusted everywhere without a restart.
//
//	d, err := anchors.New(anchors.Options{Client: client, SentryNamespace: ns, Logger: logger})
//	d.SetRoots(b.RootsPEM)            // at start and after every accepted bundle
//	go d.Start(ctx)                   // until ctx is done
//	d.Synced(roots)                   // whether every namespace holds roots
//
// # Which namespaces
//
// A namespace is served while it holds at least one pod whose annotation
// dapr.io/enabled is truthy (annotations.ParseBool): the pods the sidecar
// injector acts on. Pods were chosen over a namespace label because they
// need no extra step from users (the annotation is already there) and
// Sentry already watches pods to validate tokens. The pod informer keeps
// only each pod's name, namespace and annotations in memory. Sentry's own
// namespace is skipped: its ConfigMap of the same name is written by the
// trust bundle store (pkg/sentry/ca/store/kubernetes).
//
// # What is written
//
// The ConfigMap carries the label LabelManagedBy=ManagedBy and the
// annotation store.AnnotationRootsSHA256 (the SHA-256 of ca.crt). Sentry
// creates it when absent and rewrites ca.crt when it differs from the
// current roots, but only when the label says Sentry made it: a ConfigMap
// of that name made by someone else is left alone and logged. Nothing is
// ever deleted: a namespace whose Dapr pods are gone keeps its last anchors,
// and they are updated again when Dapr pods come back.
//
// # RBAC
//
// Cluster-wide: pods list and watch (which Sentry has for token
// validation); configmaps get, list, watch and update restricted by
// resourceNames to dapr-trust-bundle (the informer sends a metadata.name
// field selector, so list and watch match); configmaps create, which cannot
// be restricted by name. config/rbac/sentry.yaml grants exactly this.
// Dapr's chart grants none of the ConfigMap rules: Sentry then does not run
// a Distributor at all (it asks the apiserver at start, with
// SelfSubjectAccessReviews, and logs one warning), and workloads get the
// roots only when they are injected, as with Dapr. A list, watch or write
// that RBAC refuses anyway is logged once (per namespace for writes) and
// retried quietly.
package anchors
