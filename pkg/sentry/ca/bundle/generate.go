package bundle

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// DefaultTTL is the lifetime of a generated root and issuer.
const DefaultTTL = 365 * 24 * time.Hour

// GenerateOptions configures Generate.
type GenerateOptions struct {
	// TrustDomain is the control-plane trust domain, the root's subject O.
	// Required.
	TrustDomain spiffeid.TrustDomain
	// Namespace is Sentry's namespace; the issuer's subject O is Sentry's
	// SPIFFE ID in it. Required.
	Namespace string
	// Now is the generation time. Required.
	Now time.Time
	// AllowedClockSkew backdates both certificates' NotBefore.
	AllowedClockSkew time.Duration
	// RootTTL is the root's lifetime from Now. Default DefaultTTL.
	RootTTL time.Duration
	// IssuerTTL is the issuer's lifetime from Now, cut to end with the root.
	// Default DefaultTTL.
	IssuerTTL time.Duration
	// RootKey, when set, signs the root instead of a fresh key that is
	// thrown away: a renewal that keeps the root key, so that anchors
	// holding an older root over the same key keep verifying.
	RootKey crypto.Signer
	// SameKeyRoot is an earlier root over RootKey whose subject and subject
	// key identifier the new root keeps, so that chains match it too.
	// Optional; only with RootKey.
	SameKeyRoot *x509.Certificate
	// KeyAlgorithm is the algorithm of the generated keys. Default
	// KeyEd25519, Dapr v1.18's.
	KeyAlgorithm KeyAlgorithm
}

// Generate makes a new bundle: a root (CA, subject O=<trust domain>) and an
// issuer signed by it, with keys of opts.KeyAlgorithm (Ed25519 by default), (CA with path length 0, subject O=<Sentry's
// SPIFFE ID>). Unless opts.RootKey is given, the root's key is thrown away
// once the issuer is signed, so the root can never sign again; only the
// issuer key is kept.
func Generate(opts GenerateOptions) (*Bundle, error) {
	if opts.TrustDomain.IsZero() {
		return nil, errors.New("generate trust bundle: trust domain is empty")
	}
	if opts.Now.IsZero() {
		return nil, errors.New("generate trust bundle: the time is not set")
	}
	if opts.AllowedClockSkew < 0 || opts.RootTTL < 0 || opts.IssuerTTL < 0 {
		return nil, errors.New("generate trust bundle: clock skew and lifetimes must not be negative")
	}
	sentryID, err := spiffe.SentryID(opts.TrustDomain, opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("generate trust bundle: %w", err)
	}
	if opts.RootTTL == 0 {
		opts.RootTTL = DefaultTTL
	}
	if opts.IssuerTTL == 0 {
		opts.IssuerTTL = DefaultTTL
	}
	notBefore := opts.Now.Add(-opts.AllowedClockSkew)
	rootNotAfter := opts.Now.Add(opts.RootTTL)
	issuerNotAfter := opts.Now.Add(opts.IssuerTTL)
	if issuerNotAfter.After(rootNotAfter) {
		issuerNotAfter = rootNotAfter
	}

	rootKey := opts.RootKey
	if rootKey == nil {
		if rootKey, err = GenerateKey(opts.KeyAlgorithm); err != nil {
			return nil, fmt.Errorf("generate root key: %w", err)
		}
	}
	issuerKey, err := GenerateKey(opts.KeyAlgorithm)
	if err != nil {
		return nil, fmt.Errorf("generate issuer key: %w", err)
	}
	root, err := caTemplate(pkix.Name{Organization: []string{opts.TrustDomain.Name()}}, notBefore, rootNotAfter)
	if err != nil {
		return nil, err
	}
	issuer, err := caTemplate(pkix.Name{Organization: []string{sentryID.String()}}, notBefore, issuerNotAfter)
	if err != nil {
		return nil, err
	}
	issuer.MaxPathLen, issuer.MaxPathLenZero = 0, true
	if old := opts.SameKeyRoot; old != nil && opts.RootKey != nil {
		root.RawSubject, root.SubjectKeyId = old.RawSubject, old.SubjectKeyId
	}

	rootDER, err := sign(root, root, rootKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("create root certificate: %w", err)
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("parse root certificate: %w", err)
	}
	issuerDER, err := sign(issuer, rootCert, issuerKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("create issuer certificate: %w", err)
	}
	keyPEM, err := EncodeKey(issuerKey)
	if err != nil {
		return nil, err
	}
	b, err := Parse(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuerDER}),
		keyPEM,
	)
	if err != nil {
		return nil, fmt.Errorf("generate trust bundle: %w", err)
	}
	return b, nil
}

// caTemplate is what a generated root and issuer share.
func caTemplate(subject pkix.Name, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
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

// randomSerial returns a random positive serial number below 2^128.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) ([]byte, error) {
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
}
