// Package oidc serves Sentry's OpenID Connect discovery document and JSON
// Web Key Set, so that relying parties (cloud workload-identity federation:
// AWS IAM, Azure federated credentials, GCP workload identity pools, or any
// OIDC library) can verify the JWT-SVIDs Sentry issues.
//
// Two endpoints are served, each under an optional path prefix, to GET only
// (405 otherwise), as JSON with a Cache-Control header:
//
//   - <prefix>/.well-known/openid-configuration: the discovery document,
//     whose issuer is the configured issuer (the tokens' "iss": the two
//     never disagree) and whose jwks_uri is the issuer's scheme and host,
//     the prefix and /jwks.json, unless set explicitly;
//   - <prefix>/jwks.json: the public key set in force, read per request, so
//     a key added for a rotation is published as soon as Sentry loads it.
//
// An allowlist of hosts, when set, answers 403 to any other Host header.
// X-Forwarded-Host is believed only when the allowlist is explicit (no "*"),
// so that a proxy in front can be allowed by the name clients use.
//
//	srv, err := oidc.New(oidc.Options{Source: issuer, Issuer: "https://sentry.example.com",
//		Address: ":9080", TLSCertFile: "/tls/tls.crt", TLSKeyFile: "/tls/tls.key"})
//	go srv.Start(ctx)
package oidc
