// Package jwt is Sentry's JWT-SVID material and issuer.
//
// The material is two files of the trust bundle: jwt.key, the private
// signing key (PEM: PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC1
// "EC PRIVATE KEY"), and jwks.json, the public JSON Web Key Set that relying
// parties verify tokens with. The key set may hold several keys, so that a
// signing key can be rotated without breaking tokens already issued: add the
// new public key to jwks.json, let it spread, switch jwt.key to the new key,
// and remove the old public key once the last token it signed has expired.
// Sentry always signs with the key of jwt.key, under the key ID of the
// jwks.json entry that holds the same public key.
//
// ParseMaterial checks the pair: the key set must hold only public keys,
// and an entry with the signing key's public key (and, when a key ID is
// required, that key ID). Generate makes a new pair, RS256 (RSA-2048) by
// default for compatibility with Dapr, or ES256 (P-256) and the other JOSE
// signature algorithms on request. A generated key's ID is the base64url
// (RFC 4648 §5, unpadded) SHA-256 JWK thumbprint (RFC 7638); Dapr uses the
// standard base64 alphabet with padding for the same thumbprint, which is
// not URL-safe, so the two differ in the characters + / = only.
//
// An Issuer signs JWT-SVIDs with the current material:
//
//	m, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.ES256})
//	iss, err := jwt.NewIssuer(jwt.IssuerOptions{Material: m, Issuer: "https://sentry.example.com"})
//	toks, err := iss.Issue(jwt.Request{Subject: id, Audiences: []string{"public", "sts.amazonaws.com"}, NotAfter: leaf.NotAfter})
//	// toks.JWT carries every audience; toks.PerAudience one token per audience.
//	iss.SetMaterial(rotated) // after a hot reload of the bundle
package jwt
