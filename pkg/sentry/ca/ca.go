package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// Options configures New.
type Options struct {
	// Bundle is the trust bundle to sign with. Required.
	Bundle *bundle.Bundle
	// Clock tells the signing time. Default: the real clock.
	Clock clock.PassiveClock
}

// SignRequest asks for one workload certificate.
type SignRequest struct {
	// PublicKey is the workload's public key (from its verified CSR).
	PublicKey crypto.PublicKey
	// PublicKeyDER is PublicKey as a DER SubjectPublicKeyInfo, when the
	// caller has it (a CSR carries it); it saves encoding the key again.
	PublicKeyDER []byte
	// ID is the authenticated identity.
	ID spiffeid.ID
	// DNSNames are extra DNS SANs, decided by policy (see DNSNamesFor).
	DNSNames []string
	// TTL is the requested lifetime.
	TTL time.Duration
	// ClockSkew backdates NotBefore.
	ClockSkew time.Duration
}

// Issued is a signed workload certificate and what goes with it on the wire.
type Issued struct {
	// DER is the leaf certificate.
	DER []byte
	// ChainPEM is the leaf followed by the issuer chain (roots excluded).
	ChainPEM []byte
	// TrustAnchorsPEM holds every root of the bundle that signed the leaf.
	TrustAnchorsPEM []byte
	// NotBefore and NotAfter are the leaf's validity.
	NotBefore, NotAfter time.Time
	// Serial is the leaf's serial number in hex, for logs.
	Serial string
}

// Authority signs workload certificates with the issuer of the current
// bundle. It is safe for concurrent use.
type Authority struct {
	clock   clock.PassiveClock
	current atomic.Pointer[signer]
}

// signer is one bundle with the encodings every signing reuses.
type signer struct {
	bundle     *bundle.Bundle
	issuer     *x509.Certificate
	chainPEM   []byte
	anchorsPEM []byte
	fast       *fastSigner // nil: sign with x509.CreateCertificate
}

// New returns an Authority that signs with opts.Bundle.
func New(opts Options) (*Authority, error) {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	a := &Authority{clock: opts.Clock}
	if err := a.SetBundle(opts.Bundle); err != nil {
		return nil, err
	}
	return a, nil
}

// SetBundle makes b the bundle that signs from now on. Signings already in
// progress finish with the bundle they started with.
func (a *Authority) SetBundle(b *bundle.Bundle) error {
	if b == nil || len(b.IssuerChain) == 0 || b.IssuerKey == nil {
		return errors.New("ca: bundle without an issuer certificate and key")
	}
	s := &signer{bundle: b, issuer: b.IssuerChain[0], anchorsPEM: b.RootsPEM}
	fast, err := newFastSigner(s.issuer, b.IssuerKey)
	switch {
	case err == nil:
		s.fast = fast
	case !errors.Is(err, errNoFastPath):
		return fmt.Errorf("ca: %w", err)
	}
	for _, c := range b.IssuerChain {
		s.chainPEM = appendCertPEM(s.chainPEM, c.Raw)
	}
	a.current.Store(s)
	return nil
}

// Bundle returns the bundle that currently signs.
func (a *Authority) Bundle() *bundle.Bundle { return a.current.Load().bundle }

// SignWorkload issues an X.509-SVID for req.ID over req.PublicKey.
func (a *Authority) SignWorkload(_ context.Context, req SignRequest) (*Issued, error) {
	s := a.current.Load()
	tmpl, err := LeafTemplate(LeafParams{
		PublicKey:      req.PublicKey,
		ID:             req.ID,
		DNSNames:       req.DNSNames,
		Now:            a.clock.Now(),
		TTL:            req.TTL,
		ClockSkew:      req.ClockSkew,
		IssuerNotAfter: s.issuer.NotAfter,
	})
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	var der []byte
	if s.fast != nil {
		der, err = s.fast.sign(tmpl, req.PublicKey, req.PublicKeyDER)
	} else {
		der, err = x509.CreateCertificate(rand.Reader, tmpl, s.issuer, req.PublicKey, s.bundle.IssuerKey)
	}
	if err != nil {
		return nil, fmt.Errorf("ca: sign workload certificate: %w", err)
	}
	chain := make([]byte, 0, pemCertSize(der)+len(s.chainPEM))
	chain = append(appendCertPEM(chain, der), s.chainPEM...)
	return &Issued{
		DER:             der,
		ChainPEM:        chain,
		TrustAnchorsPEM: s.anchorsPEM,
		NotBefore:       tmpl.NotBefore,
		NotAfter:        tmpl.NotAfter,
		Serial:          tmpl.SerialNumber.Text(16),
	}, nil
}
