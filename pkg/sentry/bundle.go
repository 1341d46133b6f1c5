package sentry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	logkeys "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/sentry/servingcert"
)

// loadBundle loads the stored bundle, or generates and stores one when the
// store holds nothing at all (or, with WaitForBundle, waits until its owner
// stores one). Anything else stored but broken is refused: Sentry never
// replaces what a user put there.
func (s *Sentry) loadBundle(ctx context.Context, cfg config.Config) (*bundle.Bundle, error) {
	log := s.opts.Logger
	b, err := s.opts.Store.Load()
	if s.opts.WaitForBundle && absentOrPartial(err) {
		if b, err = s.waitForBundle(ctx, err); ctx.Err() != nil {
			return nil, err
		}
	}
	switch {
	case err == nil:
		log.Info("Root and issuer certs found: using credentials from store")
	case errors.Is(err, bundle.ErrNotFound):
		log.Info("Root and issuer certs not found: generating self signed CA")
		b, err = bundle.Generate(bundle.GenerateOptions{
			TrustDomain:      s.opts.TrustDomain,
			Namespace:        s.opts.Namespace,
			Now:              s.opts.Clock.Now(),
			AllowedClockSkew: cfg.AllowedClockSkew,
			KeyAlgorithm:     s.opts.KeyAlgorithm,
		})
		if err != nil {
			return nil, fmt.Errorf("sentry: generate trust bundle: %w", err)
		}
		switch err := s.opts.Store.Save(b); {
		case err == nil:
			log.Info("Self-signed certs generated and persisted successfully")
		case errors.Is(err, bundle.ErrExists):
			// Another replica stored its CA first: adopt it.
			log.Info("Another Sentry stored a trust bundle first; using it")
			if b, err = s.opts.Store.Load(); err != nil {
				return nil, fmt.Errorf("sentry: load the trust bundle another Sentry stored: %w", err)
			}
		default:
			return nil, fmt.Errorf("sentry: store generated trust bundle: %w", err)
		}
	default:
		if s.opts.OnBundleRejected != nil {
			s.opts.OnBundleRejected(err)
		}
		return nil, fmt.Errorf("sentry: load trust bundle: %w", err)
	}
	if err := b.Verify(s.opts.Clock.Now()); err != nil {
		if s.opts.OnBundleRejected != nil {
			s.opts.OnBundleRejected(err)
		}
		return nil, fmt.Errorf("sentry: trust bundle: %w", err)
	}
	return b, nil
}

// bundleWaitInterval is how often a Sentry waiting for its bundle reads
// the store; bundleWaitLogEvery polls make one "still waiting" log line.
const (
	bundleWaitInterval = 5 * time.Second
	bundleWaitLogEvery = 12
)

// waitForBundle reads the store every bundleWaitInterval until it holds a
// whole bundle, or something that is not one (returned as Load returns it,
// good or not), or ctx is done. A partial bundle is waited on too: an owner
// may be writing its files one by one.
func (s *Sentry) waitForBundle(ctx context.Context, notFound error) (*bundle.Bundle, error) {
	log := s.opts.Logger
	log.Warn("Root and issuer certs not found; waiting for their owner to store them (CA generation is off)", zap.Error(notFound))
	tick := s.opts.Clock.NewTicker(bundleWaitInterval)
	defer tick.Stop()
	for polls := 1; ; polls++ {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sentry: stopped while waiting for the trust bundle: %w", ctx.Err())
		case <-tick.C():
		}
		b, err := s.opts.Store.Load()
		if !absentOrPartial(err) {
			return b, err
		}
		if polls%bundleWaitLogEvery == 0 {
			log.Warn("Still waiting for the trust bundle", zap.Error(err))
		}
	}
}

// absentOrPartial reports whether a Load error means the owner has not
// (completely) stored the bundle yet.
func absentOrPartial(err error) bool {
	return errors.Is(err, bundle.ErrNotFound) || errors.Is(err, bundle.ErrIncomplete)
}

func (s *Sentry) observeBundle(b *bundle.Bundle) {
	s.metrics.IssuerChanged.Inc()
	s.metrics.ObserveBundle(b.Issuer(), b.Roots)
	for _, r := range b.ExpiredRoots(s.opts.Clock.Now()) {
		s.opts.Logger.Warn("The trust bundle holds an expired root certificate that signs nothing current; remove it from the roots file",
			zap.String(logkeys.KeySerial, r.SerialNumber.Text(16)), zap.Time(logkeys.KeyNotAfter, r.NotAfter))
	}
}

// applyBundle puts a reloaded bundle in force if it verifies; otherwise the
// current one keeps serving. Sentry's own certificate is renewed when the
// issuer changed, so that it chains to what clients trust.
func (s *Sentry) applyBundle(nb *bundle.Bundle, authority *ca.Authority, serving *servingcert.Provider, jwtIssuer *jwt.Issuer) {
	log := s.opts.Logger
	if err := nb.Verify(s.opts.Clock.Now()); err != nil {
		log.Error("Rejected new trust bundle; the current one keeps serving", zap.Error(err))
		return
	}
	prev := authority.Bundle()
	if err := authority.SetBundle(nb); err != nil {
		log.Error("Rejected new trust bundle; the current one keeps serving", zap.Error(err))
		return
	}
	s.reloadJWT(jwtIssuer, nb)
	if nb.WithJWT(nil).Equal(prev.WithJWT(nil)) {
		return // only the JWT material changed
	}
	s.observeBundle(nb)
	if s.opts.Anchors != nil {
		s.opts.Anchors.SetRoots(nb.RootsPEM)
	}
	if bytes.Equal(nb.Issuer().Raw, prev.Issuer().Raw) {
		log.Warn("Trust anchors changed; the issuer is unchanged",
			zap.Int("roots", len(nb.Roots)))
		return
	}
	log.Warn("Issuer credentials changed; now signing with the new issuer",
		zap.Time("issuer_not_after", nb.Issuer().NotAfter))
	serving.Renew()
}
