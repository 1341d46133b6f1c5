package sentry

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	logkeys "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// loadBundle loads the stored bundle, or generates and stores one when the
// store holds nothing at all. Anything else stored but broken is refused:
// Sentry never replaces what a user put there.
func (s *Sentry) loadBundle(cfg config.Config) (*bundle.Bundle, error) {
	log := s.opts.Logger
	b, err := s.opts.Store.Load()
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

func (s *Sentry) observeBundle(b *bundle.Bundle) {
	s.metrics.IssuerChanged.Inc()
	s.metrics.ObserveBundle(b.Issuer(), b.Roots)
	for _, r := range b.ExpiredRoots(s.opts.Clock.Now()) {
		s.opts.Logger.Warn("The trust bundle holds an expired root certificate that signs nothing current; remove it from the roots file",
			zap.String(logkeys.KeySerial, r.SerialNumber.Text(16)), zap.Time(logkeys.KeyNotAfter, r.NotAfter))
	}
}
