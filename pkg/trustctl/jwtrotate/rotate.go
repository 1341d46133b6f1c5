package jwtrotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
	"github.com/trustplane/trustplane/pkg/trustctl/phase"
)

// DefaultPropagationDelay is how long SwitchSigning waits after AddKey by
// default, for relying parties to refresh a cached key set.
const DefaultPropagationDelay = 5 * time.Minute

// Errors callers branch on.
var (
	// ErrNotReady means the previous phase has not reached relying parties,
	// or old tokens are still valid; the error lists the failing checks.
	ErrNotReady = phase.ErrNotReady
	// ErrWrongPhase means the rotation is not at the phase this step
	// follows.
	ErrWrongPhase = phase.ErrWrongPhase
)

// Step names a phase command.
type Step string

// The steps, in order.
const (
	StepAddKey        Step = "add-key"
	StepSwitchSigning Step = "switch-signing"
	StepRetireOldKey  Step = "retire-old-key"
)

// Options configures New.
type Options struct {
	// Client reads and writes the cluster. Required.
	Client *cluster.Client
	// Install is the control plane (namespace, allowedClockSkew). Required.
	Install *cluster.Install
	// Clock is the time phases are judged and recorded at. Default: the
	// real clock.
	Clock clock.PassiveClock
	// PropagationDelay is the least time between AddKey and SwitchSigning.
	// Default DefaultPropagationDelay; negative means none.
	PropagationDelay time.Duration
	// JWTTTL is Sentry's --jwt-ttl, when known. A token never outlives
	// its certificate, so the longest token lifetime is workloadCertTTL
	// (the larger of its values at the switch and now), or JWTTTL when
	// that is shorter. Default 0: unknown.
	JWTTTL time.Duration
}

// Rotator runs the phases of a JWT signing key rotation.
type Rotator struct{ opts Options }

// New returns a Rotator. It makes no API call.
func New(opts Options) (*Rotator, error) {
	if opts.Client == nil || opts.Install == nil {
		return nil, errors.New("jwtrotate: Client and Install are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.PropagationDelay == 0 {
		opts.PropagationDelay = DefaultPropagationDelay
	}
	if opts.JWTTTL < 0 {
		return nil, fmt.Errorf("jwtrotate: JWTTTL %s is negative", opts.JWTTTL)
	}
	return &Rotator{opts: opts}, nil
}

// Check is one condition a step waits for.
type Check = phase.Check

// Status is where a JWT key rotation stands.
type Status struct {
	// Namespace is the control plane's namespace.
	Namespace string `json:"namespace"`
	// State is the rotation recorded in the Secret.
	State State `json:"state"`
	// SigningKeyID is the kid Sentry signs with.
	SigningKeyID string `json:"signingKeyID"`
	// Keys are the key set's keys.
	Keys []Key `json:"keys"`
	// Next is the step to run next.
	Next Step `json:"next"`
	// Ready is whether Next may run now.
	Ready bool `json:"ready"`
	// Checks are what Next waits for.
	Checks []Check `json:"checks"`
}

// Status reads where the JWT key rotation of tb stands.
func (r *Rotator) Status(_ context.Context, tb *cluster.TrustBundle) (*Status, error) {
	m, err := material(tb)
	if err != nil {
		return nil, fmt.Errorf("read JWT rotation status: %w", err)
	}
	st, err := StateOf(tb.Secret)
	if err != nil {
		return nil, err
	}
	signing, err := keyThumbprint(m.KeyPEM)
	if err != nil {
		return nil, err
	}
	keys, err := keysOf(tb, st, signing)
	if err != nil {
		return nil, err
	}
	s := &Status{Namespace: tb.Namespace, State: st, SigningKeyID: m.KeyID, Keys: keys, Next: nextOf(st.Phase)}
	now := r.opts.Clock.Now()
	switch st.Phase {
	case PhaseKeyAdded:
		s.Checks = r.switchChecks(tb, st, now)
	case PhaseSigningSwitched:
		s.Checks = r.retireChecks(st, signing, now)
	}
	s.Ready = phase.AllOK(s.Checks)
	return s, nil
}

func (r *Rotator) switchChecks(tb *cluster.TrustBundle, st State, now time.Time) []Check {
	pending := Check{Name: "the new key is kept in the Secret", OK: true}
	if _, err := pendingMaterial(tb, st); err != nil {
		pending.OK, pending.Detail = false, err.Error()
	}
	published := Check{Name: "the published key set holds the new key", OK: true}
	if got, problem := publishedThumbprints(tb.ConfigMap); problem != "" {
		published.OK, published.Detail = false, problem+"; Sentry publishes it, wait and run again"
	} else if !slices.Contains(got, st.NewKey) {
		published.OK = false
		published.Detail = fmt.Sprintf("ConfigMap %s does not hold it yet; Sentry publishes it, wait and run again", cluster.ConfigMapName)
	}
	waited := Check{Name: "relying parties had time to refresh their cached key set", OK: true}
	if since := now.Sub(st.KeyAddedAt); r.opts.PropagationDelay > 0 && since < r.opts.PropagationDelay {
		waited.OK = false
		waited.Detail = fmt.Sprintf("%s since the key was added, %s needed; wait %s", since.Round(time.Second),
			r.opts.PropagationDelay, (r.opts.PropagationDelay - since).Round(time.Second))
	}
	return []Check{pending, published, waited}
}

// maxTokenLifetime is the longest a token signed before the switch may be
// accepted: the longest token lifetime — the certificate TTL (the larger of
// the one at the switch and now), or JWTTTL if shorter — plus the larger of
// the clock skew at the switch and now.
func (r *Rotator) maxTokenLifetime(st State) time.Duration {
	cfg := r.opts.Install.Config
	lifetime := max(st.CertTTL, cfg.WorkloadCertTTL)
	if r.opts.JWTTTL > 0 {
		lifetime = min(lifetime, r.opts.JWTTTL)
	}
	return lifetime + max(st.ClockSkew, cfg.AllowedClockSkew)
}

func (r *Rotator) retireChecks(st State, signing string, now time.Time) []Check {
	expired := Check{Name: "every token signed with the old key has expired", OK: true}
	need := r.maxTokenLifetime(st)
	if since := now.Sub(st.SigningSwitchedAt); since < need {
		expired.OK = false
		expired.Detail = fmt.Sprintf("%s since the signing switch, longest token lifetime + allowedClockSkew = %s; wait %s",
			since.Round(time.Second), need, (need - since).Round(time.Second))
	}
	switched := Check{Name: "Sentry signs with the new key", OK: true}
	if signing == st.OldKey {
		switched.OK, switched.Detail = false, fmt.Sprintf("%s is still the old key; run %s first", KeyKey, StepSwitchSigning)
	}
	return []Check{expired, switched}
}

// pendingMaterial parses the pending key with the Secret's key set.
func pendingMaterial(tb *cluster.TrustBundle, st State) (*jwt.Material, error) {
	key := tb.Secret.Data[PendingKeyKey]
	if len(key) == 0 {
		return nil, fmt.Errorf("the Secret lacks %s; the rotation cannot go on, remove the %s annotations and run %s again",
			PendingKeyKey, AnnotationPhase, StepAddKey)
	}
	if tp, err := keyThumbprint(key); err != nil {
		return nil, err
	} else if tp != st.NewKey {
		return nil, fmt.Errorf("%s is not the key %s added (thumbprint %s, want %s)", PendingKeyKey, StepAddKey, tp, st.NewKey)
	}
	m, err := jwt.ParseMaterial(key, tb.Secret.Data[JWKSKey], jwt.ParseOptions{})
	if err != nil {
		return nil, fmt.Errorf("check the pending key with %s: %w", JWKSKey, err)
	}
	return m, nil
}

// refuse returns an error wrapping ErrNotReady naming the failed checks.
func refuse(step Step, checks []Check) error { return phase.Refuse(string(step), checks) }

func nextOf(p Phase) Step {
	switch p {
	case PhaseKeyAdded:
		return StepSwitchSigning
	case PhaseSigningSwitched:
		return StepRetireOldKey
	}
	return StepAddKey
}
