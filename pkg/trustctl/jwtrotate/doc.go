// Package jwtrotate replaces Sentry's JWT signing key in three phases, so
// that every token stays verifiable by relying parties that cache the
// published key set (JWKS):
//
//  1. AddKey generates a new key, keeps its private key in the trust bundle
//     Secret under PendingKeyKey (Sentry ignores it) and adds its public key
//     to jwks.json; Sentry publishes both keys and keeps signing with the
//     old one.
//  2. SwitchSigning makes the pending key jwt.key once the published key set
//     holds it and PropagationDelay has passed, so relying parties have
//     fetched it before the first token signed with it.
//  3. RetireOldKey removes the old public key from jwks.json once every
//     token signed with it has expired (JWTTTL + allowedClockSkew since the
//     switch).
//
// The phase and its times are annotations of the Secret; every write checks
// the material with jwt.ParseMaterial and has the Secret's resourceVersion
// as a precondition. A step that must wait returns an error wrapping
// ErrNotReady and writes nothing.
//
// Usage:
//
//	r, _ := jwtrotate.New(jwtrotate.Options{Client: c, Install: in})
//	tb, _ := c.ReadBundle(ctx, in.Namespace)
//	s, _ := r.Status(ctx, tb)   // s.Next, s.Ready, s.Checks
//	err := r.AddKey(ctx, tb, "") // then SwitchSigning, then RetireOldKey
package jwtrotate
