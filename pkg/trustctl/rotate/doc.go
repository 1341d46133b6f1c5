// Package rotate replaces the root of a control plane's trust bundle
// without restarting any workload, in three phases that each refuse to run
// before the previous one has reached everyone:
//
//  1. AddRoot puts a new root next to the old one in the Secret's ca.crt
//     and keeps the new issuer aside in the Secret (keys pending-issuer.crt
//     and pending-issuer.key, which Sentry ignores). Sentry publishes both
//     roots: in its responses, its ConfigMap and (pkg/sentry/anchors) the
//     ConfigMap dapr-trust-bundle of every namespace with Dapr pods. Sentry
//     keeps signing with the old issuer.
//  2. SwitchIssuer moves the pending issuer into issuer.crt/issuer.key, so
//     Sentry signs under the new root. It refuses until every anchors
//     ConfigMap holds both roots and PropagationDelay has passed since
//     phase 1 (the kubelet's delay in updating mounted ConfigMaps).
//  3. RemoveOldRoot drops the old roots from ca.crt. It refuses until
//     every leaf the old issuer signed has expired: workloadCertTTL +
//     allowedClockSkew (the larger of their values at the switch and now)
//     since phase 2.
//
// The phase and its times live in annotations of the Secret (AnnotationPhase
// and the others), every write has the Secret's resourceVersion as a
// precondition (cluster.WriteBundle), and Status says which step is next and
// what it waits for.
//
//	r, _ := rotate.New(rotate.Options{Client: c, Install: in, Clock: clk})
//	st, _ := r.Status(ctx, tb)      // st.Next, st.Checks
//	err := r.AddRoot(ctx, tb, nb)   // nb from renew.Generate: the new root and issuer
//	err = r.SwitchIssuer(ctx, tb)   // errors.Is(err, rotate.ErrNotReady) until propagated
//	err = r.RemoveOldRoot(ctx, tb)
package rotate
