// Package testca builds certificate authorities for tests: a root, issuers
// under it (with options for lifetime and key type), and CSRs, written as
// the PEM files Sentry reads. Test code only.
//
//	root := testca.NewRoot(t)
//	iss := root.Issuer(t, testca.WithLifetime(48*time.Hour))
//	iss.WriteBundle(t, dir) // ca.crt, issuer.crt, issuer.key
package testca
