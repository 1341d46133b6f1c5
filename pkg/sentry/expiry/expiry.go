package expiry

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	logkeys "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// Defaults of Options.
const (
	// DefaultThreshold is how long before NotAfter warnings start: 30 days,
	// as in Dapr.
	DefaultThreshold = 30 * 24 * time.Hour
	// DefaultInterval is the time between checks: one hour, as in Dapr.
	DefaultInterval = time.Hour
)

// ErrNoBundle is returned by New when Options.Bundle is nil.
var ErrNoBundle = errors.New("expiry: a Bundle function is required")

// Options configures New.
type Options struct {
	// Bundle returns the trust bundle in force; it is called at every check
	// and may return nil (nothing to check). Required.
	Bundle func() *bundle.Bundle
	// Clock is the time source. Default: the real clock.
	Clock clock.WithTicker
	// Logger receives the warning lines as is, without a sub-scope. Default:
	// none.
	Logger *zap.Logger
	// OnWarning is called once per warning, after its line is logged, for
	// example to count it or to emit a Kubernetes Event. Optional.
	OnWarning func(Warning)
	// Threshold is how long before NotAfter warnings start. Default
	// DefaultThreshold.
	Threshold time.Duration
	// Interval is the time between checks. Default DefaultInterval.
	Interval time.Duration
}

// Checker warns about expiring certificates; it is a runnable.
type Checker struct {
	opts Options
}

// New checks opts, fills the defaults and returns a Checker.
func New(opts Options) (*Checker, error) {
	if opts.Bundle == nil {
		return nil, ErrNoBundle
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	return &Checker{opts: opts}, nil
}

// Start checks at once, then every Interval, until ctx is done; it then
// returns nil.
func (c *Checker) Start(ctx context.Context) error {
	// The ticker exists before the first check, so a test that sees the
	// first check's lines can step a fake clock without losing a tick.
	t := c.opts.Clock.NewTicker(c.opts.Interval)
	defer t.Stop()
	c.check()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			c.check()
		}
	}
}

// NeedLeaderElection reports false: every Sentry replica warns, since each
// serves with the same bundle and logs on its own.
func (*Checker) NeedLeaderElection() bool { return false }

// check logs and reports every warning due now.
func (c *Checker) check() {
	for _, w := range due(c.opts.Bundle(), c.opts.Clock.Now(), c.opts.Threshold) {
		c.opts.Logger.Warn(w.Message,
			zap.String(logkeys.KeySerial, w.Serial), zap.Time(logkeys.KeyNotAfter, w.NotAfter))
		if c.opts.OnWarning != nil {
			c.opts.OnWarning(w)
		}
	}
}
