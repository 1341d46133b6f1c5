// Package sentry assembles Sentry from its parts: the trust bundle store,
// the certificate authority, Sentry's own serving certificate, the
// validators, the configuration source, the gRPC server, and the health and
// metrics endpoints. It holds no logic of its own beyond the start-up order
// and the reactions to change:
//
//   - a valid new trust bundle replaces the signing issuer and renews
//     Sentry's serving certificate; an invalid one is logged and ignored;
//   - a configuration change applies to the next request (TTL, skew) and
//     rebuilds the validators when tokenValidators changed;
//   - with Options.JWT, a JWT signing key is generated and stored beside the
//     bundle when the store holds none, every certificate comes with
//     JWT-SVIDs, a reloaded bundle's JWT material (a key rotation) signs the
//     next tokens, and Options.JWT.OIDC serves the discovery document and
//     the key set in force.
//
// Usage (cmd/sentry does this):
//
//	s, err := sentry.New(opts)
//	err = s.Start(ctx) // blocks until ctx is done
package sentry
