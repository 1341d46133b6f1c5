package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// ErrIssuerExpired is returned when the issuer can no longer sign: its
// NotAfter has passed.
var ErrIssuerExpired = errors.New("issuer certificate has expired")

// serialLimit bounds serial numbers to 128 bits, as RFC 5280 allows (≤ 20 octets).
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)

// LeafParams is everything a workload certificate is made of.
type LeafParams struct {
	// PublicKey is the workload's key, taken from its CSR.
	PublicKey crypto.PublicKey
	// ID is the single URI SAN.
	ID spiffeid.ID
	// DNSNames are extra DNS SANs (control-plane services only).
	DNSNames []string
	// Now is the signing time.
	Now time.Time
	// TTL is the requested lifetime from Now.
	TTL time.Duration
	// ClockSkew backdates NotBefore so that peers with slow clocks accept it.
	ClockSkew time.Duration
	// IssuerNotAfter caps the leaf's NotAfter: a leaf never outlives its issuer.
	IssuerNotAfter time.Time
}

// Validity returns the leaf's NotBefore and NotAfter: now − skew and
// now + TTL, with NotAfter clamped to the issuer's NotAfter. It fails when the
// issuer has expired.
func Validity(p LeafParams) (notBefore, notAfter time.Time, err error) {
	if !p.Now.Before(p.IssuerNotAfter) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w at %s", ErrIssuerExpired, p.IssuerNotAfter.UTC().Format(time.RFC3339))
	}
	if p.TTL <= 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("workload certificate TTL must be positive, got %s", p.TTL)
	}
	notBefore = p.Now.Add(-p.ClockSkew)
	notAfter = p.Now.Add(p.TTL)
	if notAfter.After(p.IssuerNotAfter) {
		notAfter = p.IssuerNotAfter
	}
	// Second precision, as the certificate encodes it: valid_until then
	// equals the leaf's NotAfter exactly.
	return notBefore.Truncate(time.Second), notAfter.Truncate(time.Second), nil
}

// LeafTemplate builds the template of a workload X.509-SVID: one URI SAN,
// an empty subject, DigitalSignature, ServerAuth and ClientAuth, not a CA.
func LeafTemplate(p LeafParams) (*x509.Certificate, error) {
	if p.ID.IsZero() {
		return nil, errors.New("workload certificate needs a SPIFFE ID")
	}
	notBefore, notAfter, err := Validity(p)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, serialLimit)
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		URIs:                  []*url.URL{p.ID.URL()},
		DNSNames:              p.DNSNames,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		PublicKey:             p.PublicKey,
	}, nil
}
