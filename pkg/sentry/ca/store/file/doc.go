// Package file keeps Sentry's trust bundle in a directory, the self-hosted
// way: ca.crt (the roots), issuer.crt (the issuer chain) and issuer.key (the
// issuer key), each name replaceable and an absolute name overriding the
// directory.
//
// The store never overwrites what a user put there. Load tells "nothing
// stored" (ErrNotFound, so Sentry may generate a CA) from "part of a bundle
// stored" (*PartialError, which Sentry must refuse), and names the file at
// fault for any parse problem. Save writes a generated bundle atomically,
// mode 0600, and only where no file exists yet. Watch follows the directory
// so an issuer can be rotated by replacing its files in place, by renaming
// new files over them, or by a kubelet-style ..data symlink swap:
//
//	s, err := file.New(file.Options{Dir: "/var/run/secrets/dapr.io/credentials", Logger: logger})
//	b, err := s.Load()
//	if errors.Is(err, file.ErrNotFound) {
//		b, err = bundle.Generate(opts)
//		err = s.Save(b)
//	}
//	go s.Watch(ctx, func(nb *bundle.Bundle) { ca.SetBundle(nb) }, func(err error) { logger.Error("rejected", zap.Error(err)) })
//
// With Options.JWT set, two more files take part: jwt.key (the JWT-SVID
// signing key) and jwks.json (the public key set). They follow the same
// rules as a pair: both absent, Load returns the bundle without JWT material
// and SaveJWT may store a generated pair; one without the other, or a key
// that is not in the key set, is refused with an error naming the file.
// Watch follows them with the rest, so a JWT key rotation (a second key in
// jwks.json, then a new jwt.key) is picked up without a restart.
package file
