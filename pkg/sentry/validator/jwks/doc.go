// Package jwks is the validator that authenticates a SignCertificate caller
// with a JWT signed by a key of a JSON Web Key Set (Dapr's "jwks" token
// validator).
//
// A token proves the identity spiffe://<trust-domain>/ns/<namespace>/<app-id>
// of a request when its signature verifies with a key of the set (the
// algorithm is inferred from the key; unsigned tokens never verify), its
// "sub" is exactly that ID, its "aud" contains Sentry's own ID, and its
// "exp" (required), "nbf" and "iat" hold at the injected clock, give or take
// the allowed skew.
//
// The key set comes from a Source: an https:// or http:// URL, refetched
// every MinRefreshInterval; a local file, watched and reloaded when it
// changes; or the JWKS JSON itself, optionally base64-encoded. A bad fetch or
// a bad edit keeps the last good set. Run Start for URL and file sources:
//
//	opts, err := jwks.OptionsFromMap(map[string]string{"source": "https://issuer.example/jwks.json"})
//	opts.SentryID, opts.Logger = sentryID, logger
//	v, err := jwks.New(opts)
//	go v.Start(ctx) // until ctx is done
//	id, err := v.Validate(ctx, validator.Request{AppID: "orders", Namespace: "default", Token: jwt})
package jwks
