package rotate

import (
	"context"
	"fmt"
	"slices"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

// AddRoot is phase 1: the Secret's roots gain nb's root(s), and nb's issuer
// and key are kept aside for SwitchIssuer. Sentry keeps signing with the
// current issuer. It refuses while another rotation is under way.
func (r *Rotator) AddRoot(ctx context.Context, tb *cluster.TrustBundle, nb *bundle.Bundle) error {
	b, err := tb.Require()
	if err != nil {
		return fmt.Errorf("%s: %w", StepAddRoot, err)
	}
	st, err := StateOf(tb.Secret)
	if err != nil {
		return err
	}
	if st.Phase != PhaseNone && st.Phase != PhaseComplete {
		return fmt.Errorf("%s: %w: phase %s is done; the next step is %s (see rotate-root status)",
			StepAddRoot, ErrWrongPhase, st.Phase, nextOf(st.Phase))
	}
	now := r.opts.Clock.Now()
	old := fingerprints(b.Roots)
	roots := slices.Clone(b.Roots)
	added := 0
	for _, c := range nb.Roots {
		if !slices.Contains(old, Fingerprint(c)) {
			roots = append(roots, c)
			added++
		}
	}
	if added == 0 {
		return fmt.Errorf("%s: the new root is already in the Secret", StepAddRoot)
	}
	rootsPEM := bundle.EncodeCertificates(roots)
	combined, err := bundle.Parse(rootsPEM, b.IssuerChainPEM, b.IssuerKeyPEM)
	if err == nil {
		err = combined.Verify(now)
	}
	if err != nil {
		return fmt.Errorf("%s: check the current issuer under both roots: %w", StepAddRoot, err)
	}
	if pending, err := bundle.Parse(rootsPEM, nb.IssuerChainPEM, nb.IssuerKeyPEM); err != nil {
		return fmt.Errorf("%s: check the new issuer: %w", StepAddRoot, err)
	} else if err := pending.Verify(now); err != nil {
		return fmt.Errorf("%s: check the new issuer: %w", StepAddRoot, err)
	}
	next := State{Phase: PhaseRootAdded, RootAddedAt: now, OldRoots: old}
	return r.write(ctx, tb, combined, next, map[string][]byte{
		PendingIssuerKey: nb.IssuerChainPEM, PendingKeyKey: nb.IssuerKeyPEM,
	})
}

// SwitchIssuer is phase 2: the pending issuer becomes the Secret's issuer,
// so Sentry signs under the new root. It refuses (ErrNotReady) until every
// anchors ConfigMap holds both roots, PropagationDelay has passed and every
// pod with daprd was started after AddRoot (daprd reads its anchors only
// at start).
func (r *Rotator) SwitchIssuer(ctx context.Context, tb *cluster.TrustBundle) error {
	b, st, err := r.at(tb, StepSwitchIssuer, PhaseRootAdded)
	if err != nil {
		return err
	}
	as, err := AnchorsStatus(ctx, r.opts.Client, tb, b.Roots)
	if err != nil {
		return err
	}
	pods, err := r.opts.Client.DaprdPods(ctx)
	if err != nil {
		return err
	}
	now := r.opts.Clock.Now()
	if err := refuse(StepSwitchIssuer, r.switchChecks(tb, b, st, as, pods, now)); err != nil {
		return err
	}
	nb, err := pendingBundle(tb, b, now)
	if err != nil {
		return err
	}
	cfg := r.opts.Install.Config
	st.Phase, st.IssuerSwitchedAt = PhaseIssuerSwitched, now
	st.MaxLeafLifetime = cfg.WorkloadCertTTL + cfg.AllowedClockSkew
	return r.write(ctx, tb, nb, st, map[string][]byte{PendingIssuerKey: nil, PendingKeyKey: nil})
}

// RemoveOldRoot is phase 3: the roots that were there before AddRoot leave
// the Secret. It refuses (ErrNotReady) until workloadCertTTL +
// allowedClockSkew has passed since SwitchIssuer.
func (r *Rotator) RemoveOldRoot(ctx context.Context, tb *cluster.TrustBundle) error {
	b, st, err := r.at(tb, StepRemoveOldRoot, PhaseIssuerSwitched)
	if err != nil {
		return err
	}
	as, err := AnchorsStatus(ctx, r.opts.Client, tb, b.Roots)
	if err != nil {
		return err
	}
	now := r.opts.Clock.Now()
	if err := refuse(StepRemoveOldRoot, r.removeChecks(b, st, as, now)); err != nil {
		return err
	}
	keep, _, err := splitRoots(b, st)
	if err != nil {
		return err
	}
	var roots = b.Roots[:0:0]
	for _, c := range b.Roots {
		if slices.Contains(keep, Fingerprint(c)) {
			roots = append(roots, c)
		}
	}
	nb, err := bundle.Parse(bundle.EncodeCertificates(roots), b.IssuerChainPEM, b.IssuerKeyPEM)
	if err == nil {
		err = nb.Verify(now)
	}
	if err != nil {
		return fmt.Errorf("%s: check the bundle without the old roots: %w", StepRemoveOldRoot, err)
	}
	st.Phase, st.OldRootRemovedAt = PhaseComplete, now
	return r.write(ctx, tb, nb, st, nil)
}

// at returns tb's bundle and state, checking the rotation is at want.
func (r *Rotator) at(tb *cluster.TrustBundle, step Step, want Phase) (*bundle.Bundle, State, error) {
	b, err := tb.Require()
	if err != nil {
		return nil, State{}, fmt.Errorf("%s: %w", step, err)
	}
	st, err := StateOf(tb.Secret)
	if err != nil {
		return nil, State{}, err
	}
	if st.Phase != want {
		return nil, State{}, fmt.Errorf("%s: %w: it follows phase %s, and the rotation is at %q; the next step is %s",
			step, ErrWrongPhase, want, st.Phase, nextOf(st.Phase))
	}
	return b, st, nil
}

// write stores nb with st's annotations and extra keys (nil deletes).
func (r *Rotator) write(ctx context.Context, tb *cluster.TrustBundle, nb *bundle.Bundle, st State, extra map[string][]byte) error {
	sec := tb.Secret.DeepCopy()
	st.annotate(sec)
	for k, v := range extra {
		if v == nil {
			delete(sec.Data, k)
		} else {
			sec.Data[k] = v
		}
	}
	next := *tb
	next.Secret = sec
	return r.opts.Client.WriteBundle(ctx, &next, nb)
}

func nextOf(p Phase) Step {
	switch p {
	case PhaseRootAdded:
		return StepSwitchIssuer
	case PhaseIssuerSwitched:
		return StepRemoveOldRoot
	}
	return StepAddRoot
}
