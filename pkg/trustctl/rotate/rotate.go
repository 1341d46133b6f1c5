package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
	"github.com/trustplane/trustplane/pkg/trustctl/phase"
)

// DefaultPropagationDelay is how long phase 2 waits after phase 1 by
// default: the kubelet's sync period (1m) plus its ConfigMap cache time
// (1m) bound how late a mounted ConfigMap changes.
const DefaultPropagationDelay = 2 * time.Minute

// Errors callers branch on.
var (
	// ErrNotReady means the previous phase has not reached everyone yet;
	// the error lists the checks that fail.
	ErrNotReady = phase.ErrNotReady
	// ErrWrongPhase means the rotation is not at the phase this step
	// follows.
	ErrWrongPhase = phase.ErrWrongPhase
)

// Step names a phase command.
type Step string

// The steps, in order.
const (
	StepAddRoot       Step = "add-root"
	StepSwitchIssuer  Step = "switch-issuer"
	StepRemoveOldRoot Step = "remove-old-root"
)

// Options configures New.
type Options struct {
	// Client reads and writes the cluster. Required.
	Client *cluster.Client
	// Install is the control plane (its namespace and mTLS settings).
	// Required.
	Install *cluster.Install
	// Clock is the time phases are judged and recorded at. Default: the
	// real clock.
	Clock clock.PassiveClock
	// PropagationDelay is the least time between phases 1 and 2. Default
	// DefaultPropagationDelay; negative means none.
	PropagationDelay time.Duration
}

// Rotator runs the phases of a root rotation.
type Rotator struct{ opts Options }

// New returns a Rotator. It makes no API call.
func New(opts Options) (*Rotator, error) {
	if opts.Client == nil || opts.Install == nil {
		return nil, errors.New("rotate: Client and Install are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.PropagationDelay == 0 {
		opts.PropagationDelay = DefaultPropagationDelay
	}
	return &Rotator{opts: opts}, nil
}

// Status is where a rotation stands.
type Status struct {
	// Namespace is the control plane's namespace.
	Namespace string `json:"namespace"`
	// State is the rotation recorded in the Secret.
	State State `json:"state"`
	// Next is the step to run next.
	Next Step `json:"next"`
	// Ready is whether Next may run now.
	Ready bool `json:"ready"`
	// Checks are what Next waits for.
	Checks []Check `json:"checks"`
	// Anchors are the trust anchors ConfigMaps found.
	Anchors []Anchors `json:"anchors"`
}

// Status reads where the rotation of tb stands and checks its next step.
func (r *Rotator) Status(ctx context.Context, tb *cluster.TrustBundle) (*Status, error) {
	b, err := tb.Require()
	if err != nil {
		return nil, fmt.Errorf("read rotation status: %w", err)
	}
	st, err := StateOf(tb.Secret)
	if err != nil {
		return nil, err
	}
	as, err := AnchorsStatus(ctx, r.opts.Client, tb, b.Roots)
	if err != nil {
		return nil, err
	}
	s := &Status{Namespace: tb.Namespace, State: st, Anchors: as}
	now := r.opts.Clock.Now()
	switch st.Phase {
	case PhaseRootAdded:
		s.Next = StepSwitchIssuer
		pods, err := r.opts.Client.DaprdPods(ctx)
		if err != nil {
			return nil, err
		}
		s.Checks = r.switchChecks(tb, b, st, as, pods, now)
	case PhaseIssuerSwitched:
		s.Next = StepRemoveOldRoot
		s.Checks = r.removeChecks(b, st, as, now)
	default:
		s.Next = StepAddRoot
	}
	s.Ready = phase.AllOK(s.Checks)
	return s, nil
}

func (r *Rotator) switchChecks(tb *cluster.TrustBundle, b *bundle.Bundle, st State, as []Anchors, pods []cluster.DaprdPod, now time.Time) []Check {
	pending := Check{Name: "the new issuer is kept in the Secret", OK: true}
	if _, err := pendingBundle(tb, b, now); err != nil {
		pending.OK, pending.Detail = false, err.Error()
	}
	waited := Check{Name: "the kubelet had time to update mounted anchors", OK: true}
	if since := now.Sub(st.RootAddedAt); r.opts.PropagationDelay > 0 && since < r.opts.PropagationDelay {
		waited.OK = false
		waited.Detail = fmt.Sprintf("%s since the root was added, %s needed; wait %s", since.Round(time.Second),
			r.opts.PropagationDelay, (r.opts.PropagationDelay - since).Round(time.Second))
	}
	return []Check{pending, anchorsCheck(as), waited, daprdCheck(pods, st.RootAddedAt)}
}

// maxLeafLifetime is the longest a leaf signed before the switch may live.
func (r *Rotator) maxLeafLifetime(st State) time.Duration {
	cfg := r.opts.Install.Config
	return max(st.MaxLeafLifetime, cfg.WorkloadCertTTL+cfg.AllowedClockSkew)
}

func (r *Rotator) removeChecks(b *bundle.Bundle, st State, as []Anchors, now time.Time) []Check {
	expired := Check{Name: "every leaf of the old issuer has expired", OK: true}
	need := r.maxLeafLifetime(st)
	if since := now.Sub(st.IssuerSwitchedAt); since < need {
		expired.OK = false
		expired.Detail = fmt.Sprintf("%s since the issuer switch, workloadCertTTL + allowedClockSkew = %s; wait %s",
			since.Round(time.Second), need, (need - since).Round(time.Second))
	}
	signing := Check{Name: "the issuer chains to a new root", OK: true}
	if _, _, err := splitRoots(b, st); err != nil {
		signing.OK, signing.Detail = false, err.Error()
	}
	return []Check{expired, signing, anchorsCheck(as)}
}

// pendingBundle is the Secret's roots with the pending issuer.
func pendingBundle(tb *cluster.TrustBundle, b *bundle.Bundle, now time.Time) (*bundle.Bundle, error) {
	crt, key := tb.Secret.Data[PendingIssuerKey], tb.Secret.Data[PendingKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return nil, fmt.Errorf("the Secret lacks %s or %s; run %s again", PendingIssuerKey, PendingKeyKey, StepAddRoot)
	}
	nb, err := bundle.Parse(b.RootsPEM, crt, key)
	if err == nil {
		err = nb.Verify(now)
	}
	if err != nil {
		return nil, fmt.Errorf("check the pending issuer: %w", err)
	}
	return nb, nil
}

// splitRoots splits the roots into those kept and the old ones removed,
// refusing when the issuer would lose its root or nothing would remain.
func splitRoots(b *bundle.Bundle, st State) (keep, drop []string, err error) {
	for _, c := range b.Roots {
		if slices.Contains(st.OldRoots, Fingerprint(c)) {
			drop = append(drop, Fingerprint(c))
		} else {
			keep = append(keep, Fingerprint(c))
		}
	}
	top := b.IssuerChain[len(b.IssuerChain)-1]
	for _, c := range b.Roots {
		if slices.Contains(drop, Fingerprint(c)) && top.CheckSignatureFrom(c) == nil {
			return nil, nil, fmt.Errorf("the issuer still chains to old root %s; run %s first", short(Fingerprint(c)), StepSwitchIssuer)
		}
	}
	if len(keep) == 0 {
		return nil, nil, errors.New("no root would remain")
	}
	return keep, drop, nil
}

// refuse returns an error wrapping ErrNotReady naming the failed checks.
func refuse(step Step, checks []Check) error { return phase.Refuse(string(step), checks) }
