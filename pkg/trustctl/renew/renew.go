package renew

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/spiffe"
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
	var (
		b   *bundle.Bundle
		err error
	)
	if opts.RootKey == nil {
		b, err = bundle.Generate(bundle.GenerateOptions{
			TrustDomain:      opts.TrustDomain,
			Namespace:        opts.Namespace,
			Now:              opts.Now,
			AllowedClockSkew: opts.AllowedClockSkew,
			RootTTL:          opts.ValidFor,
			IssuerTTL:        opts.ValidFor,
		})
	} else {
		b, err = withRootKey(opts)
	}
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

// withRootKey signs a new root certificate with opts.RootKey and a new P-256
// issuer with it. The templates are bundle.Generate's, so a reused-key root
// looks like a generated one.
func withRootKey(opts Options) (*bundle.Bundle, error) {
	if opts.TrustDomain.IsZero() {
		return nil, errors.New("generate trust bundle: trust domain is empty")
	}
	if opts.Now.IsZero() {
		return nil, errors.New("generate trust bundle: the time is not set")
	}
	if opts.AllowedClockSkew < 0 {
		return nil, errors.New("generate trust bundle: clock skew must not be negative")
	}
	sentryID, err := spiffe.SentryID(opts.TrustDomain, opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("generate trust bundle: %w", err)
	}
	notBefore, notAfter := opts.Now.Add(-opts.AllowedClockSkew), opts.Now.Add(opts.ValidFor)
	root, err := caTemplate(pkix.Name{Organization: []string{opts.TrustDomain.Name()}}, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	if old := sameKeyRoot(opts.CurrentRoots, opts.RootKey.Public()); old != nil {
		root.RawSubject = old.RawSubject
		root.SubjectKeyId = old.SubjectKeyId
	}
	issuerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate issuer key: %w", err)
	}
	issuer, err := caTemplate(pkix.Name{Organization: []string{sentryID.String()}}, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	issuer.MaxPathLen, issuer.MaxPathLenZero = 0, true

	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, opts.RootKey.Public(), opts.RootKey)
	if err != nil {
		return nil, fmt.Errorf("create root certificate: %w", err)
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("parse root certificate: %w", err)
	}
	issuerDER, err := x509.CreateCertificate(rand.Reader, issuer, rootCert, issuerKey.Public(), opts.RootKey)
	if err != nil {
		return nil, fmt.Errorf("create issuer certificate: %w", err)
	}
	keyPEM, err := bundle.EncodeKey(issuerKey)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Parse(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuerDER}),
		keyPEM,
	)
	if err != nil {
		return nil, fmt.Errorf("generate trust bundle: %w", err)
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

// caTemplate is what the root and issuer share (as in bundle.Generate).
func caTemplate(subject pkix.Name, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	serial.Add(serial, big.NewInt(1)) // positive, never zero
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil
}

// SameKey reports whether two certificates have the same public key.
func SameKey(a, b *x509.Certificate) bool {
	k, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.PublicKey)
}
