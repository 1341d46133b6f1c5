package renew

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// DefaultValidFor is the lifetime of a renewed root and issuer: 365 days,
// Dapr's --valid-until default.
const DefaultValidFor = 365 * 24 * time.Hour

// Options configures Generate.
type Options struct {
	// TrustDomain is the control-plane trust domain: the root's subject O
	// and the trust domain of Sentry's ID in the issuer's subject. Required.
	TrustDomain spiffeid.TrustDomain
	// Namespace is the control plane's namespace. Required.
	Namespace string
	// Now is the issuance time. Required.
	Now time.Time
	// AllowedClockSkew backdates NotBefore (daprsystem
	// spec.mtls.allowedClockSkew).
	AllowedClockSkew time.Duration
	// ValidFor is the lifetime of the root and the issuer from Now. Default
	// DefaultValidFor.
	ValidFor time.Duration
	// RootKey, when set, is the existing root key to sign a new root
	// certificate with; nil makes a fresh root key (thrown away).
	RootKey crypto.Signer
	// CurrentRoots are the roots in the cluster now. A root with RootKey's
	// public key lends the new root its subject and subject key identifier.
	CurrentRoots []*x509.Certificate
}

// Generate makes a new bundle: fresh (RootKey nil), or a new root
// certificate for RootKey with a new issuer. The result has passed
// bundle.Verify at Now.
func Generate(opts Options) (*bundle.Bundle, error) {
	if opts.ValidFor == 0 {
		opts.ValidFor = DefaultValidFor
	}
	if opts.ValidFor < 0 {
		return nil, errors.New("generate trust bundle: the lifetime must be positive")
	}
	gen := bundle.GenerateOptions{
		TrustDomain:      opts.TrustDomain,
		Namespace:        opts.Namespace,
		Now:              opts.Now,
		AllowedClockSkew: opts.AllowedClockSkew,
		RootTTL:          opts.ValidFor,
		IssuerTTL:        opts.ValidFor,
		RootKey:          opts.RootKey,
	}
	if opts.RootKey != nil {
		gen.SameKeyRoot = sameKeyRoot(opts.CurrentRoots, opts.RootKey.Public())
	} else {
		// As `dapr mtls renew-certificate` (CLI v1.18): a fresh ECDSA P-256
		// root key, used once and thrown away, and an Ed25519 issuer.
		k, err := bundle.GenerateKey(bundle.KeyECDSAP256)
		if err != nil {
			return nil, fmt.Errorf("generate root key: %w", err)
		}
		gen.RootKey = k
	}
	b, err := bundle.Generate(gen)
	if err != nil {
		return nil, err
	}
	if err := b.Verify(opts.Now); err != nil {
		return nil, fmt.Errorf("verify generated trust bundle: %w", err)
	}
	return b, nil
}

// BringYourOwn checks user-provided files with bundle.Parse and
// bundle.Verify at now and returns their bundle.
func BringYourOwn(rootsPEM, issuerPEM, keyPEM []byte, now time.Time) (*bundle.Bundle, error) {
	b, err := bundle.Parse(rootsPEM, issuerPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("check provided certificates: %w", err)
	}
	if err := b.Verify(now); err != nil {
		return nil, fmt.Errorf("check provided certificates: %w", err)
	}
	return b, nil
}

// sameKeyRoot returns the root of roots whose public key is pub, or nil.
func sameKeyRoot(roots []*x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	k, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil
	}
	for _, r := range roots {
		if k.Equal(r.PublicKey) {
			return r
		}
	}
	return nil
}

// SameKey reports whether two certificates have the same public key.
func SameKey(a, b *x509.Certificate) bool {
	k, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.PublicKey)
}
