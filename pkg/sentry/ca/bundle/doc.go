// Package bundle is Sentry's trust bundle: the root certificates workloads
// trust (the trust anchors), the issuer certificate chain Sentry signs with,
// and the issuer's private key.
//
// A bundle is either generated (a fresh P-256 root and issuer, the root key
// thrown away) or parsed from the three PEM files a user brings: ca.crt,
// issuer.crt and issuer.key. Parse checks everything that does not depend on
// the time; Verify adds the validity periods at a given moment. Both return a
// *Error that names the part at fault (roots, issuer or key), so a store can
// point the user at the right file:
//
//	b, err := bundle.Parse(rootsPEM, issuerPEM, keyPEM)
//	var be *bundle.Error
//	if errors.As(err, &be) && be.Part == bundle.PartKey { ... }
//	if err := b.Verify(time.Now()); errors.Is(err, bundle.ErrExpired) { ... }
//
//	g, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: now})
package bundle
