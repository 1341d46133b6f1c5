// Package servingcert keeps Sentry's own TLS certificate: an X.509-SVID for
// spiffe://<control-plane-td>/ns/<namespace>/dapr-sentry, signed in-process
// by Sentry's own authority (Sentry never calls itself over gRPC).
//
// The certificate is renewed at half its lifetime and at once when the
// trust bundle changes, so clients that verify Sentry's SPIFFE ID against
// the trust anchors always find a chain:
//
//	p, _ := servingcert.New(servingcert.Options{Signer: authority, ID: sentryID, ...})
//	_ = p.Issue(ctx)          // first certificate, before serving
//	go p.Start(ctx)           // renewals
//	tlsConfig.GetCertificate = p.GetCertificate
package servingcert
