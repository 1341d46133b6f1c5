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
//     anchors, by server-side apply keyed by webhook name; watching the
//     object, or with the patch verb alone (Dapr's RBAC) reading it back
//     by a no-op patch on a timer.
//   - SecretGetter reads a token Secret with one GET per pod that names one,
//     in the namespaces whose RBAC allows it (TokenSecretsClusterRole);
//     elsewhere the webhook admits the pod with a warning.
//   - Run reviews the injector's RBAC once (rbac.go: one warning per
//     feature that falls back, one for the CA key when it is readable)
//     and assembles the parts with the Sentry client (pkg/security, with
//     Dapr's token choice and an RSA key by default), the daprsystem
//     Configuration (watched, or polled with get alone; its
//     spec.mtls.enabled), the health server (/livez; /healthz and /readyz
//     ready only with the certificate, the webhook server and the
//     caBundle) and the metrics server.
//
// Usage (cmd/injector):
//
//	err := server.Run(ctx, server.Options{
//		RestConfig: cfg, Namespace: "dapr-system", ControlPlaneTrustDomain: td,
//		SentryAddress: "dapr-sentry.dapr-system.svc:443",
//		TokenFile: security.DefaultKubernetesTokenFile, LegacyTokenFile: security.DefaultLegacyTokenFile,
//		KeyType: server.DefaultKeyType,
//		TrustAnchorsFile: "/var/run/secrets/dapr.io/tls/ca.crt",
//		WebhookPort: 4000, HealthzAddress: ":8080", MetricsAddress: ":9090",
//		Sidecar: sidecar.Config{SidecarImage: "ghcr.io/dapr/daprd:1.16.0"},
//		Registry: reg, Logger: logger,
//	})
package server
