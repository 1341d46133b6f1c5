package security

import (
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/log"
)

// Renewal timing.
const (
	// RenewFraction is the share of a certificate's lifetime after which it
	// is renewed, before jitter. The lifetime counts from NotBefore or from
	// receipt, whichever is later.
	RenewFraction = 0.5
	// RenewJitter spreads renewals by ± this share of the lifetime, so that
	// sidecars started together do not all call Sentry together.
	RenewJitter = 0.05
	// MaxWait is the longest the renew loop sleeps before checking the wall
	// clock again; it keeps renewals on time after a suspended host or VM
	// resumes, because timers do not count the time spent suspended.
	MaxWait = time.Minute
	// RetryInitial is the first wait after a failed request. Waits double
	// after each failure up to RetryMax and are jittered by ±10%.
	RetryInitial = time.Second
	// RetryMax caps the wait between failed requests (Dapr retries every
	// 10 s).
	RetryMax = 10 * time.Second
)

// Start fetches the first SVID, retrying with backoff, then renews it until
// ctx is done, when it returns nil. It also watches TrustAnchorsFile when one
// is configured. It returns an error only if it cannot start: when called a
// second time, or when the anchors file cannot be watched.
func (c *Client) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if c.opts.TrustAnchorsFile != "" {
		w, err := newAnchorsWatcher(c.opts.TrustAnchorsFile)
		if err != nil {
			return fmt.Errorf("start trust anchors watch: %w", err)
		}
		wg.Go(func() { c.watchAnchors(ctx, w, c.anchorsChanged) })
	}
	c.run(ctx)
	return nil
}

// run is the renew loop. renewAt is when the current SVID is due; the zero
// time, before the first SVID, is always due.
func (c *Client) run(ctx context.Context) {
	var renewAt time.Time
	retry := RetryInitial
	c.log.Info("Fetching initial identity", zap.String("sentry", c.opts.SentryAddress))
	for {
		now := c.opts.Clock.Now()
		var wait time.Duration
		if now.Before(renewAt) {
			wait = min(renewAt.Sub(now), MaxWait)
		} else {
			s, err := c.renew(ctx)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				renewAt = c.renewalTime(s.Certificates[0], c.opts.Clock.Now())
				retry = RetryInitial
				c.log.Info("Workload identity renewal scheduled", zap.Time("renew_at", renewAt))
				continue
			}
			wait = c.jitter(retry, 0.1)
			retry = min(2*retry, RetryMax)
			c.logFailure(err, wait)
		}

		t := c.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-c.renewNow:
			t.Stop()
			renewAt = time.Time{}
		}
	}
}

// renew requests a new SVID and stores it, with the anchors Sentry sent.
func (c *Client) renew(ctx context.Context) (*x509svid.SVID, error) {
	old := c.currentSVID()
	if old != nil {
		c.log.Info("Renewing workload identity",
			zap.Time(log.KeyNotAfter, old.Certificates[0].NotAfter))
	}
	got, err := c.sign(ctx)
	if err != nil {
		return nil, err
	}
	// Anchors first: a peer presenting a certificate from the new root may
	// connect as soon as our own new SVID is out.
	if got.anchors != nil && c.anchors.setFromSentry(got.anchors) {
		c.log.Info("Trust anchors updated from sentry", zap.Int("anchors", len(c.anchors.current())))
	}
	c.setSVID(got.svid)
	leaf := got.svid.Certificates[0]
	c.log.Info("Workload identity issued",
		zap.String(log.KeySPIFFEID, got.svid.ID.String()),
		zap.String(log.KeySerial, leaf.SerialNumber.Text(16)),
		zap.Time(log.KeyNotAfter, leaf.NotAfter))
	return got.svid, nil
}

// logFailure logs a failed request, louder once the current SVID expired.
func (c *Client) logFailure(err error, wait time.Duration) {
	s := c.currentSVID()
	switch {
	case s == nil:
		c.log.Warn("Cannot fetch initial identity, retrying", zap.Duration("retry_in", wait), zap.Error(err))
	case !c.opts.Clock.Now().Before(s.Certificates[0].NotAfter):
		c.log.Error("Workload identity expired and renewal failed, retrying",
			zap.Time(log.KeyNotAfter, s.Certificates[0].NotAfter), zap.Duration("retry_in", wait), zap.Error(err))
	default:
		c.log.Warn("Cannot renew workload identity, keeping the current one and retrying",
			zap.Time(log.KeyNotAfter, s.Certificates[0].NotAfter), zap.Duration("retry_in", wait), zap.Error(err))
	}
}

// renewalTime is when a certificate received at now is due for renewal:
// RenewFraction of its lifetime, ± RenewJitter. The lifetime counts from
// NotBefore, as Dapr's does, but not from before now: a server that
// backdates NotBefore far would otherwise hand out certificates that are due
// on arrival, and the loop would renew without pause.
func (c *Client) renewalTime(leaf *x509.Certificate, now time.Time) time.Time {
	start := leaf.NotBefore
	if start.Before(now) {
		start = now
	}
	life := leaf.NotAfter.Sub(start)
	return start.Add(c.jitter(time.Duration(RenewFraction*float64(life)), RenewJitter/RenewFraction))
}

// jitter returns d scaled by a random factor in [1-spread, 1+spread).
func (c *Client) jitter(d time.Duration, spread float64) time.Duration {
	return time.Duration(float64(d) * (1 - spread + 2*spread*c.opts.Rand()))
}

// anchorsChanged asks for an immediate renewal when the current SVID no
// longer chains to the new anchors, for example after its root was removed.
func (c *Client) anchorsChanged() {
	s := c.currentSVID()
	if s == nil {
		return
	}
	bundle := x509bundle.FromX509Authorities(s.ID.TrustDomain(), c.anchors.current())
	if _, _, err := x509svid.Verify(s.Certificates, bundle, x509svid.WithTime(c.opts.Clock.Now())); err == nil {
		return
	}
	c.log.Info("Workload identity does not chain to the new trust anchors, renewing now")
	select {
	case c.renewNow <- struct{}{}:
	default:
	}
}
