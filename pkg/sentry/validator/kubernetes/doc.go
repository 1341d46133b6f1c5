// Package kubernetes is the validator that authenticates a SignCertificate
// caller running in Kubernetes by its projected service-account token
// (Dapr's "kubernetes" token validator).
//
// A request for spiffe://<td>/ns/<namespace>/<app-id> is granted when:
//
//  1. the pod and Configuration caches have synced (else ErrNotReady) and
//     the requested app ID, namespace and trust domain are well formed;
//  2. the token is at most MaxTokenSize (16 KiB) and, read without
//     verifying it, a JWT with an "alg", an exp that has not passed (by
//     more than the allowed clock skew) and Sentry's SPIFFE ID or
//     "dapr.io/sentry" among its audiences; else it is refused at once
//     ("invalid token: ...") without asking the apiserver;
//  3. a TokenReview with audiences [Sentry's SPIFFE ID, "dapr.io/sentry"]
//     authenticates the token as system:serviceaccount:<ns>:<sa> for one of
//     them;
//  4. the review's user extras name the pod the token is bound to
//     (authentication.kubernetes.io/pod-name and pod-uid; a token bound to
//     no pod is refused with ErrNotBoundToPod);
//  5. that pod is in the pod cache with that very UID, so neither a deleted
//     pod nor a new pod of the same name inherits the token;
//  6. the requested namespace is the pod's and the service account's, the
//     pod runs as that service account, and the requested app ID is the
//     pod's: its dapr.io/app-id annotation, else its name. A control-plane
//     pod (dapr.io/control-plane: sentry, injector, operator, placement or
//     scheduler) must run in the control-plane namespace without a
//     dapr.io/app-id annotation and has the app ID dapr-<service>.
//
// The trust domain is the control-plane trust domain for control-plane
// pods. For apps it is spec.accessControl.trustDomain of the Configuration
// the pod names in dapr.io/config (in the pod's namespace), or "public"
// when there is no annotation, no such Configuration or no trust domain in
// it. The requested trust domain is only checked for syntax.
//
// Successful TokenReviews are cached by the token's SHA-256 for
// ReviewCacheTTL (ten seconds, the apiserver's own cache of successful
// token authentications), never past the token's expiry, so a sidecar that
// signs again soon costs no apiserver call; the pod checks still run
// against the pod cache on every request, so a deleted pod is refused as
// soon as the cache sees the deletion. A service-account deletion takes up
// to ReviewCacheTTL to take effect, as it does at the apiserver.
//
// The caches hold every pod and every Configuration of the cluster,
// stripped to the fields above. If the configurations.dapr.io CRD is not
// installed, the validator never becomes ready.
//
// # Bounded apiserver load
//
// Every caller can send tokens, so the validator bounds what it asks the
// apiserver, whatever they send:
//
//   - garbage costs nothing: step 2 refuses it before any TokenReview;
//   - the apiserver's refusal of a token (an error, not authenticated, or
//     authenticated but for another audience, as no service account or
//     bound to no pod) is cached for RejectionCacheTTL (ten seconds), in an
//     LRU of its own so that refused tokens never evict accepted ones; a
//     failed call (5xx, 429, timeout, unreachable, forbidden) is not
//     cached, since it says nothing about the token;
//   - concurrent requests with the same token share one TokenReview, and
//     at most MaxConcurrentReviews (32) run at once; the others wait within
//     their own context;
//   - the client built from Options.Config is rate-limited to
//     DefaultClientQPS (100/s, burst 200) unless Config sets a limit.
//
// So 1,000 requests with one bad token cost one TokenReview per ten
// seconds, and 1,000 with distinct garbage tokens cost none. Tokens forged
// to pass step 2 (any signature) still cost one TokenReview each, at most
// 100 a second per Sentry.
//
// # Metrics
//
// Registered on Options.Registerer (trustplane's own names):
//
//	dapr_sentry_kubernetes_tokenreview_requests_total{result}  TokenReview calls; result is authenticated, rejected or error
//	dapr_sentry_kubernetes_tokenreview_cache_hits_total        tokens accepted from the review cache
//	dapr_sentry_kubernetes_tokenreview_skipped_total{reason}   tokens answered without a TokenReview of their own;
//	                                                           reason is too_large, malformed, expired or wrong_audience
//	                                                           (refused at once), rejection_cached or shared
//
// # RBAC
//
// The validator's identity needs this ClusterRole (bound cluster-wide):
//
//	rules:
//	- apiGroups: ["authentication.k8s.io"]
//	  resources: ["tokenreviews"]
//	  verbs: ["create"]
//	- apiGroups: [""]
//	  resources: ["pods"]
//	  verbs: ["get", "list", "watch"]
//	- apiGroups: ["dapr.io"]
//	  resources: ["configurations"]
//	  verbs: ["get", "list", "watch"]
//
// # Usage
//
//	v, err := kubernetes.New(kubernetes.Options{
//		Config:     restConfig,
//		SentryID:   sentryID, // spiffe://<cp-td>/ns/<cp-ns>/dapr-sentry
//		Logger:     logger,
//		Registerer: registry,
//	})
//	go v.Start(ctx) // until ctx is done
//	id, err := v.Validate(ctx, validator.Request{AppID: "orders", Namespace: "default", Token: token})
package kubernetes
