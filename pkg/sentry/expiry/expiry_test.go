package expiry

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	clocktesting "k8s.io/utils/clock/testing"

	logkeys "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// rig is a Checker running on a fake clock, its lines observed.
type rig struct {
	clk      *clocktesting.FakeClock
	logs     *observer.ObservedLogs
	bundle   atomic.Pointer[bundle.Bundle]
	mu       sync.Mutex
	warnings []Warning
}

func startRig(t *testing.T, b *bundle.Bundle) *rig {
	t.Helper()
	r := &rig{clk: clocktesting.NewFakeClock(t0)}
	r.bundle.Store(b)
	core, logs := observer.New(zapcore.DebugLevel)
	r.logs = logs
	c, err := New(Options{
		Bundle: r.bundle.Load,
		Clock:  r.clk,
		Logger: zap.New(core).Named("dapr.sentry"),
		OnWarning: func(w Warning) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.warnings = append(r.warnings, w)
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, "Start returns nil when ctx is done")
	})
	return r
}

func (r *rig) reported() []Warning {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Warning(nil), r.warnings...)
}

// waitLines waits until exactly n lines were logged and checks that no
// more follow shortly after.
func (r *rig) waitLines(t *testing.T, n int) []observer.LoggedEntry {
	t.Helper()
	require.Eventually(t, func() bool { return r.logs.Len() >= n }, 5*time.Second, time.Millisecond, "want %d lines", n)
	assert.Never(t, func() bool { return r.logs.Len() > n }, 50*time.Millisecond, time.Millisecond, "no more than %d lines", n)
	return r.logs.All()
}

func TestCheckerWarnsAtStartThenOncePerHour(t *testing.T) {
	root := expiringIn(t, 2*24*time.Hour+15*time.Hour+30*time.Minute)
	issuer := issuerExpiringIn(t, root, 365*24*time.Hour)
	r := startRig(t, bundleOf(issuer, root))

	lines := r.waitLines(t, 1)
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in 2 days and 15 hours", lines[0].Message)
	assert.Equal(t, zapcore.WarnLevel, lines[0].Level)
	assert.Equal(t, "dapr.sentry", lines[0].LoggerName, "no sub-scope: Dapr's lines were scoped dapr.sentry")
	assert.Equal(t, root.Cert.SerialNumber.Text(16), lines[0].ContextMap()[logkeys.KeySerial])
	assert.Contains(t, lines[0].ContextMap(), logkeys.KeyNotAfter)

	for range 3 {
		r.clk.Step(20 * time.Minute)
	}
	r.waitLines(t, 2) // the first hour's tick
	r.clk.Step(time.Hour - time.Second)
	r.waitLines(t, 2) // a second short of the second hour
	r.clk.Step(time.Second)
	lines = r.waitLines(t, 3)
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in 2 days and 14 hours", lines[1].Message)
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in 2 days and 13 hours", lines[2].Message)

	ws := r.reported()
	require.Len(t, ws, 3, "OnWarning is told of every line")
	assert.Equal(t, Root, ws[2].Certificate)
	assert.Equal(t, lines[2].Message, ws[2].Message)
}

func TestCheckerStaysQuietBetweenHours(t *testing.T) {
	root := expiringIn(t, 10*24*time.Hour)
	r := startRig(t, bundleOf(issuerExpiringIn(t, root, 24*time.Hour), root))
	r.waitLines(t, 2) // the root and the issuer
	for range 59 {
		r.clk.Step(time.Minute)
	}
	r.waitLines(t, 2)
	r.clk.Step(time.Minute)
	lines := r.waitLines(t, 4)
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in 9 days and 23 hours", lines[2].Message)
	assert.Equal(t, "Dapr issuer certificate expiration warning: certificate expires in 23 hours", lines[3].Message)
}

func TestCheckerStartsWarningWhenTheThresholdIsCrossed(t *testing.T) {
	root := expiringIn(t, 30*24*time.Hour+time.Minute)
	r := startRig(t, bundleOf(issuerExpiringIn(t, root, 30*24*time.Hour), root))
	lines := r.waitLines(t, 1)
	assert.Equal(t, "Dapr issuer certificate expiration warning: certificate expires in 30 days", lines[0].Message,
		"the root, 30 days and a minute out, is not yet due")
	r.clk.Step(time.Hour)
	lines = r.waitLines(t, 3)
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in 29 days and 23 hours", lines[1].Message)
	assert.Equal(t, "Dapr issuer certificate expiration warning: certificate expires in 29 days and 23 hours", lines[2].Message)
}

func TestCheckerSaysExpiredOncePastNotAfter(t *testing.T) {
	root := expiringIn(t, 90*time.Minute)
	issuer := issuerExpiringIn(t, root, 30*time.Minute)
	r := startRig(t, bundleOf(issuer, root))
	r.waitLines(t, 2)
	r.clk.Step(time.Hour)
	lines := r.waitLines(t, 4)
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in less than an hour", lines[2].Message)
	assert.Equal(t, "Dapr issuer certificate expiration warning: certificate has expired.", lines[3].Message)
	r.clk.Step(time.Hour)
	lines = r.waitLines(t, 6)
	assert.Equal(t, "Dapr root certificate expiration warning: certificate has expired.", lines[4].Message)
	assert.Equal(t, "Dapr issuer certificate expiration warning: certificate has expired.", lines[5].Message)
	ws := r.reported()
	require.Len(t, ws, 6)
	assert.True(t, ws[5].Expired)
	assert.Equal(t, "IssuerCertificateExpired", ws[5].Reason())
}

func TestCheckerReadsTheCurrentBundleAtEveryCheck(t *testing.T) {
	old := expiringIn(t, 5*24*time.Hour)
	r := startRig(t, bundleOf(issuerExpiringIn(t, old, 365*24*time.Hour), old))
	r.waitLines(t, 1)

	fresh := expiringIn(t, 2*365*24*time.Hour)
	r.bundle.Store(bundleOf(issuerExpiringIn(t, fresh, 365*24*time.Hour), fresh))
	r.clk.Step(time.Hour)
	r.waitLines(t, 1) // the reloaded bundle has nothing due

	r.bundle.Store(nil)
	r.clk.Step(time.Hour)
	r.waitLines(t, 1) // and no bundle is no warning
}

func TestNewRequiresABundleFunction(t *testing.T) {
	_, err := New(Options{})
	require.ErrorIs(t, err, ErrNoBundle)
}
