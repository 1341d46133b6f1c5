// Package ca is Sentry's certificate authority: it holds the current trust
// bundle and signs workload X.509-SVIDs with its issuer.
//
// Building a leaf is split the way SPIRE splits it: template.go decides what
// a workload certificate contains (pure, clock-free), ca.go signs it with the
// issuer of the bundle that is current at that moment. The bundle can be
// swapped at any time (issuer hot reload) without disturbing a signing in
// flight:
//
//	a, _ := ca.New(ca.Options{Bundle: b, Clock: clock.RealClock{}})
//	issued, err := a.SignWorkload(ctx, ca.SignRequest{PublicKey: csr.PublicKey, ID: id, TTL: 24 * time.Hour, ClockSkew: 15 * time.Minute})
//	a.SetBundle(reloaded)
package ca
