// Package phase is the vocabulary trustctl's phased rotations share (the
// root rotation in pkg/trustctl/rotate, the JWT key rotation in
// pkg/trustctl/jwtrotate): the conditions a step waits for, the two ways a
// step is refused, and the propagation delay flag's convention.
//
//	checks := []phase.Check{{Name: "anchors published", OK: ok, Detail: d}}
//	if err := phase.Refuse("switch-issuer", checks); err != nil {
//		return err // errors.Is(err, phase.ErrNotReady)
//	}
package phase
