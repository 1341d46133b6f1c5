// Package server runs trustplane's sidecar injector: it wires the admission
// handler (package webhook) into a controller-runtime webhook server that
// serves with an X.509-SVID from Sentry, and keeps the parts around it
// current.
//
//   - Anchors holds Sentry's trust anchors, from the mounted
//     dapr-trust-bundle ConfigMap file (watched) or, for a process outside
//     a pod, from the ConfigMap through the API (an informer on that one
//     object).
//   - CABundlePatcher keeps the caBundle of every webhook in the
//     dapr-sidecar-injector MutatingWebhookConfiguration equal to the
//     anchors, by server-side apply keyed by webhook name.
//   - SecretGetter reads a token Secret with one GET per pod that names one.
//   - Run assembles them with the Sentry client (pkg/security), the
//     daprsystem Configuration watch (its spec.mtls.enabled) and the
//     health and metrics servers.
//
// Usage (cmd/injector):
//
//	err := server.Run(ctx, server.Options{
//		RestConfig: cfg, Namespace: "dapr-system", ControlPlaneTrustDomain: td,
//		SentryAddress: "dapr-sentry.dapr-system.svc:443",
//		TokenFile: "/var/run/secrets/dapr.io/sentrytoken/token",
//		TrustAnchorsFile: "/var/run/secrets/dapr.io/tls/ca.crt",
//		WebhookPort: 4000, HealthzAddress: ":8080", MetricsAddress: ":9090",
//		Sidecar: sidecar.Config{SidecarImage: "ghcr.io/dapr/daprd:1.16.0"},
//		Registry: reg, Logger: logger,
//	})
package server
