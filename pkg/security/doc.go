// Package security is the workload side of trustplane's Sentry: it obtains an
// X.509-SVID for an app over Dapr's dapr.proto.sentry.v1.CA/SignCertificate
// API, keeps it renewed, and serves it with the trust anchors as go-spiffe
// sources for mutual TLS between workloads.
//
// A Client generates a fresh key and an empty PKCS#10 request for every
// issuance, dials Sentry over TLS that trusts only the current anchors and
// only Sentry's SPIFFE ID (never a host name), checks what comes back (the
// leaf chains to the anchors, names the requested app and holds our key) and
// swaps it in memory. It renews at about half of the certificate's lifetime
// and keeps serving the current SVID while a renewal fails.
//
//	c, err := security.New(security.Options{
//		SentryAddress:    "dapr-sentry.dapr-system.svc:443",
//		SentryID:         sentryID, // spiffe.SentryID(cpTD, "dapr-system")
//		TrustAnchorsFile: "/var/run/secrets/dapr.io/tls/ca.crt",
//		AppID:            "orders",
//		Namespace:        "default",
//		TokenFile:        "/var/run/secrets/dapr.io/sentrytoken/token",
//		TokenValidator:   sentryv1.SignCertificateRequest_KUBERNETES,
//	})
//	go c.Start(ctx)
//	if err := c.WaitReady(ctx); err != nil { ... }
//	srv := c.ServerTLSConfig(tlsconfig.AuthorizeMemberOf(td))
//
// In Kubernetes mode, Options.Token = KubernetesToken(...) makes Dapr's
// choice of token for every request: the projected token, else the legacy
// service-account token, else none and no validator named (Sentry's
// default validator decides).
//
// Client implements x509svid.Source and x509bundle.Source, so the TLS
// configurations it builds pick up renewed SVIDs and changed anchors on the
// next handshake.
package security
