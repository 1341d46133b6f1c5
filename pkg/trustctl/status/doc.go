// Package status describes a control plane's trust bundle for people and
// scripts: whether mTLS is on, the trust domain, and each root and issuer
// certificate with its expiry; it also decides how urgent an expiry is and
// words the warnings.
//
//	s := status.New(status.Input{Namespace: ns, Config: cfg, Bundle: b, PublishedRoots: cm}, now)
//	_ = status.WriteTable(os.Stdout, s) // or status.WriteJSON
//	for _, w := range status.Warnings(s.Certificates, now, status.DefaultThreshold) {
//		fmt.Fprintln(os.Stderr, w)
//	}
//	if status.Check(s.Certificates, now, status.DefaultThreshold) != status.LevelOK { ... }
//
// Expiry counts the issuer chain and the root the issuer chains to. Roots
// kept only as anchors (an old root beside a new one after a rotation) are
// listed but do not warn: they do not sign anything.
package status
