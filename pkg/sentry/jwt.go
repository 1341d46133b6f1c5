package sentry

import (
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/sentry/oidc"
)

// JWTStore is what the BundleStore must also do when JWT issuance is on:
// store a generated JWT signing key beside a stored bundle, never over one
// (an error wrapping bundle.ErrExists then).
type JWTStore interface {
	SaveJWT(m *jwt.Material) error
}

// JWTOptions turns on JWT-SVID issuance.
type JWTOptions struct {
	// Issuer is the tokens' "iss"; empty leaves it out (and OIDC discovery
	// then names the request's scheme and host, as Dapr's does).
	Issuer string
	// TTL is the longest lifetime of a token; a token never outlives the
	// certificate issued with it. Default jwt.DefaultTTL.
	TTL time.Duration
	// Algorithm and KeyID shape a key Sentry generates (when the store holds
	// none). Defaults jwt.DefaultAlgorithm and the key's thumbprint.
	Algorithm jwa.SignatureAlgorithm
	KeyID     string
	// OIDC, when set, serves the discovery document and key set; Sentry
	// fills its Source and Issuer.
	OIDC *oidc.Options
}

// checkJWT checks the JWT options against the store.
func (o Options) checkJWT() error {
	if o.JWT == nil {
		return nil
	}
	if _, ok := o.Store.(JWTStore); !ok {
		return errors.New("sentry: JWT issuance needs a Store that can save JWT material")
	}
	return nil
}

// ensureJWT gives b JWT material when JWT is on: the stored one, else a
// generated one stored beside the bundle (or another replica's, if it
// stored one first).
func (s *Sentry) ensureJWT(b *bundle.Bundle) (*bundle.Bundle, error) {
	if s.opts.JWT == nil || b.JWT != nil {
		return b, nil
	}
	log := s.opts.Logger
	log.Info("JWT signing key not found: generating one", zap.String("algorithm", s.jwtAlgorithm().String()))
	m, err := jwt.Generate(jwt.GenerateOptions{Algorithm: s.opts.JWT.Algorithm, KeyID: s.opts.JWT.KeyID})
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", err)
	}
	switch err := s.opts.Store.(JWTStore).SaveJWT(m); {
	case err == nil:
		log.Info("JWT signing key generated and persisted successfully", zap.String("kid", m.KeyID))
		return b.WithJWT(m), nil
	case errors.Is(err, bundle.ErrExists):
		log.Info("Another Sentry stored a JWT signing key first; using it")
		nb, err := s.opts.Store.Load()
		if err != nil {
			return nil, fmt.Errorf("sentry: load the JWT signing key another Sentry stored: %w", err)
		}
		if nb.JWT == nil {
			return nil, errors.New("sentry: a JWT signing key was stored meanwhile but cannot be loaded")
		}
		if err := nb.Verify(s.opts.Clock.Now()); err != nil {
			return nil, fmt.Errorf("sentry: trust bundle: %w", err)
		}
		return nb, nil
	default:
		return nil, fmt.Errorf("sentry: store generated JWT signing key: %w", err)
	}
}

func (s *Sentry) jwtAlgorithm() jwa.SignatureAlgorithm {
	if s.opts.JWT.Algorithm != "" {
		return s.opts.JWT.Algorithm
	}
	return jwt.DefaultAlgorithm
}

// newJWTIssuer returns the issuer of b's material, or nil when JWT is off.
func (s *Sentry) newJWTIssuer(b *bundle.Bundle) (*jwt.Issuer, error) {
	if s.opts.JWT == nil {
		return nil, nil
	}
	iss, err := jwt.NewIssuer(jwt.IssuerOptions{Material: b.JWT, Issuer: s.opts.JWT.Issuer, TTL: s.opts.JWT.TTL, Clock: s.opts.Clock})
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", err)
	}
	s.opts.Logger.Info("JWT issuing enabled", zap.String("kid", b.JWT.KeyID), zap.String("algorithm", b.JWT.Algorithm.String()),
		zap.Int("published_keys", b.JWT.Keys()), zap.String("issuer", s.opts.JWT.Issuer))
	return iss, nil
}

// reloadJWT moves the issuer to a reloaded bundle's material.
func (s *Sentry) reloadJWT(iss *jwt.Issuer, nb *bundle.Bundle) {
	if iss == nil {
		return
	}
	if nb.JWT == nil {
		s.opts.Logger.Error("The JWT signing key and key set were removed from the trust bundle; JWTs keep being signed with the key in memory until they are restored or Sentry restarts (and then generates a new key)")
		return
	}
	prev := iss.Material()
	if prev.Equal(nb.JWT) {
		return
	}
	iss.SetMaterial(nb.JWT)
	s.opts.Logger.Warn("JWT signing material changed; now signing with the reloaded key",
		zap.String("kid", nb.JWT.KeyID), zap.String("previous_kid", prev.KeyID), zap.Int("published_keys", nb.JWT.Keys()))
}

// oidcServer returns the OIDC runnable, or nil when OIDC is off.
func (s *Sentry) oidcServer(iss *jwt.Issuer) (*oidc.Server, error) {
	if s.opts.JWT == nil || s.opts.JWT.OIDC == nil {
		s.opts.Logger.Debug("OIDC HTTP server is disabled")
		return nil, nil
	}
	o := *s.opts.JWT.OIDC
	o.Source, o.Issuer = iss, s.opts.JWT.Issuer
	if o.Logger == nil {
		o.Logger = s.opts.Logger.Named("oidc")
	}
	srv, err := oidc.New(o)
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", err)
	}
	return srv, nil
}
