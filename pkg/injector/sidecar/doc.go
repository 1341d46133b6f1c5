// Package sidecar builds the Dapr sidecar ("daprd") into a Pod.
//
// Inject is a pure function: it reads only the pod and a Config, performs no
// I/O, and returns a mutated deep copy. The admission webhook
// (pkg/injector/webhook) decodes the request, calls Inject and turns the
// difference into a JSON patch; the golden tests in this package run every
// case through both paths so they cannot drift.
//
// Usage:
//
//	out, err := sidecar.Inject(pod, sidecar.Config{
//		ControlPlaneNamespace:   "dapr-system",
//		ControlPlaneTrustDomain: "cluster.local",
//		SidecarImage:            "ghcr.io/dapr/daprd:1.16.0",
//		TrustAnchors:            rootsPEM,
//		MTLSEnabled:             true,
//	})
//	var aerr *sidecar.AnnotationError
//	if errors.As(err, &aerr) {
//		// deny the pod: aerr names the annotation and the reason
//	}
//	if out == pod {
//		// not opted in, or already injected: nothing to do
//	}
//
// The container follows Dapr's wire contract (container name, flags, env
// var names, port names, the sentry token volume and its audience) so real
// daprd images run unchanged; docs/annotations.md lists the annotations.
package sidecar
