package security

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func serialOf(t *testing.T, c *Client) string {
	t.Helper()
	s, err := c.GetX509SVID()
	require.NoError(t, err)
	return s.Certificates[0].SerialNumber.String()
}

func TestRenewsAtHalfLifetime(t *testing.T) {
	env := newTestEnv(t)
	c := readyClient(t, env.options(t, "app-a"))
	first := serialOf(t, c)

	// 29 minutes into a 1 h certificate: not due yet (the loop wakes up
	// every minute, checks, and sleeps again).
	waitTimer(t, env.clock)
	env.clock.Step(29 * time.Minute)
	waitTimer(t, env.clock)
	assert.Equal(t, 1, env.sentry.requestCount())
	assert.Equal(t, first, serialOf(t, c))

	// 31 minutes: past half of the lifetime.
	env.clock.Step(2 * time.Minute)
	require.Eventually(t, func() bool { return serialOf(t, c) != first }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 2, env.sentry.requestCount())
}

func TestRenewalTime(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: start, NotAfter: start.Add(100 * time.Minute)}
	tests := map[string]struct {
		rand     float64
		received time.Duration // after NotBefore
		want     time.Duration // after NotBefore
	}{
		"the lowest draw renews at 45% of the lifetime":  {rand: 0, want: 45 * time.Minute},
		"the middle draw renews at 50% of the lifetime":  {rand: 0.5, want: 50 * time.Minute},
		"the highest draw renews just under 55%":         {rand: 0.999999, want: 55 * time.Minute},
		"a quarter draw renews at 47.5% of the lifetime": {rand: 0.25, want: 47*time.Minute + 30*time.Second},
		"a certificate received before NotBefore still counts from NotBefore": {
			rand: 0.5, received: -10 * time.Minute, want: 50 * time.Minute,
		},
		"a backdated certificate counts from receipt, so it is never due on arrival": {
			rand: 0.5, received: 60 * time.Minute, want: 80 * time.Minute,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := &Client{opts: Options{Rand: func() float64 { return tc.rand }}}
			got := c.renewalTime(leaf, start.Add(tc.received)).Sub(start)
			assert.InDelta(t, tc.want, got, float64(time.Millisecond))
		})
	}
}

func TestFailedRenewalKeepsSVIDAndRetries(t *testing.T) {
	env := newTestEnv(t)
	core, logs := observer.New(zap.InfoLevel)
	opts := env.options(t, "app-a")
	opts.Logger = zap.New(core)
	c := readyClient(t, opts)
	first := serialOf(t, c)

	env.sentry.setFailing(true)
	waitTimer(t, env.clock)
	env.clock.Step(31 * time.Minute)
	require.Eventually(t, func() bool { return env.sentry.requestCount() == 2 }, 5*time.Second, time.Millisecond)
	waitTimer(t, env.clock)
	assert.Equal(t, first, serialOf(t, c), "the current SVID is kept")
	assert.Equal(t, 1, logs.FilterMessage("Cannot renew workload identity, keeping the current one and retrying").Len())

	// Backoff: 1 s, then 2 s, then 4 s (the jitter draw is the midpoint).
	for i, wait := range []time.Duration{time.Second, 2 * time.Second} {
		env.clock.Step(wait - time.Millisecond)
		waitTimer(t, env.clock)
		assert.Equal(t, 2+i, env.sentry.requestCount(), "no retry before %s", wait)
		env.clock.Step(time.Millisecond)
		require.Eventually(t, func() bool { return env.sentry.requestCount() == 3+i }, 5*time.Second, time.Millisecond)
		waitTimer(t, env.clock)
	}
	assert.Equal(t, first, serialOf(t, c))

	env.sentry.setFailing(false)
	env.clock.Step(4 * time.Second)
	require.Eventually(t, func() bool { return serialOf(t, c) != first }, 5*time.Second, time.Millisecond)
}

func TestInitialFetchRetriesUntilSentryAnswers(t *testing.T) {
	env := newTestEnv(t)
	env.sentry.setFailing(true)
	c, err := New(env.options(t, "app-a"))
	require.NoError(t, err)
	startClient(t, c)

	require.Eventually(t, func() bool { return env.sentry.requestCount() == 1 }, 5*time.Second, time.Millisecond)
	waitTimer(t, env.clock)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.WaitReady(ctx), context.DeadlineExceeded)
	_, err = c.GetX509SVID()
	require.ErrorIs(t, err, ErrNotReady)

	env.sentry.setFailing(false)
	env.clock.Step(time.Second)
	require.NoError(t, c.WaitReady(t.Context()))
	assert.Equal(t, 2, env.sentry.requestCount())
}

func TestBackoffIsCapped(t *testing.T) {
	env := newTestEnv(t)
	env.sentry.setFailing(true)
	c, err := New(env.options(t, "app-a"))
	require.NoError(t, err)
	startClient(t, c)

	// Waits: 1, 2, 4, 8, then 10 s for good.
	for n, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, RetryMax, RetryMax} {
		require.Eventually(t, func() bool { return env.sentry.requestCount() == n+1 }, 5*time.Second, time.Millisecond)
		waitTimer(t, env.clock)
		env.clock.Step(wait - time.Millisecond)
		waitTimer(t, env.clock)
		assert.Equal(t, n+1, env.sentry.requestCount(), "retry %d waits %s", n+1, wait)
		env.clock.Step(time.Millisecond)
	}
}

func TestStartTwiceFails(t *testing.T) {
	env := newTestEnv(t)
	c := readyClient(t, env.options(t, "app-a"))
	require.ErrorIs(t, c.Start(t.Context()), ErrAlreadyStarted)
}
