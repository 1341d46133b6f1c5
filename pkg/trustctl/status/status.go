package status

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// DefaultThreshold is how close to its expiry a certificate must be for a
// warning: 30 days, as in Dapr's CLI.
const DefaultThreshold = 30 * 24 * time.Hour

// Roles of the certificates in a bundle.
const (
	RoleRoot         = "root"
	RoleIssuer       = "issuer"
	RoleIntermediate = "intermediate"
)

// Certificate describes one certificate of the trust bundle.
type Certificate struct {
	// Role is RoleRoot, RoleIssuer or RoleIntermediate.
	Role string `json:"role"`
	// Subject is the subject distinguished name.
	Subject string `json:"subject"`
	// Serial is the serial number in hex.
	Serial string `json:"serial"`
	// KeyAlgorithm is, for example, "ECDSA P-256".
	KeyAlgorithm string `json:"keyAlgorithm"`
	// NotBefore and NotAfter are the validity period.
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// DaysRemaining is whole days until NotAfter (negative once expired).
	DaysRemaining int `json:"daysRemaining"`
	// Expired reports NotAfter has passed.
	Expired bool `json:"expired"`
	// SigningRoot marks the root the issuer chains to; other roots are kept
	// only as trust anchors (for example during a rotation).
	SigningRoot bool `json:"signingRoot,omitempty"`
	// SHA256 is the fingerprint of the DER certificate, hex.
	SHA256 string `json:"sha256"`
}

// Status is what `trustctl mtls` reports.
type Status struct {
	// Namespace is the control plane's namespace.
	Namespace string `json:"namespace"`
	// ConfigurationFound reports whether daprsystem exists.
	ConfigurationFound bool `json:"configurationFound"`
	// MTLSEnabled is spec.mtls.enabled (default true).
	MTLSEnabled bool `json:"mtlsEnabled"`
	// TrustDomain is spec.mtls.controlPlaneTrustDomain, or "cluster.local"
	// when unset (TrustDomainDefault then says so).
	TrustDomain        string `json:"trustDomain"`
	TrustDomainDefault bool   `json:"trustDomainDefault,omitempty"`
	// WorkloadCertTTL and AllowedClockSkew are spec.mtls settings in force.
	WorkloadCertTTL  string `json:"workloadCertTTL"`
	AllowedClockSkew string `json:"allowedClockSkew"`
	// Certificates are the roots, then the issuer chain.
	Certificates []Certificate `json:"certificates"`
	// ConfigMapInSync reports whether the ConfigMap publishes exactly the
	// Secret's roots.
	ConfigMapInSync bool `json:"configMapInSync"`
	// SecretOwner names the controller that owns the trust bundle Secret
	// (a cert-manager Certificate, an ExternalSecret); empty when none does.
	SecretOwner string `json:"secretOwner,omitempty"`
}

// Input is what New describes.
type Input struct {
	Namespace          string
	ConfigurationFound bool
	Config             config.Config
	// Bundle is the Secret's bundle; nil when there is none (Status then
	// lists no certificates).
	Bundle *bundle.Bundle
	// PublishedRoots is the ConfigMap's ca.crt.
	PublishedRoots []byte
	// SecretOwner is the controller that owns the Secret, if any.
	SecretOwner string
}

// DefaultTrustDomain is the trust domain Sentry uses when neither its flag
// nor daprsystem sets one.
const DefaultTrustDomain = "cluster.local"

// New describes in at now.
func New(in Input, now time.Time) Status {
	s := Status{
		Namespace:          in.Namespace,
		ConfigurationFound: in.ConfigurationFound,
		MTLSEnabled:        in.Config.MTLSEnabled,
		TrustDomain:        DefaultTrustDomain,
		TrustDomainDefault: true,
		WorkloadCertTTL:    in.Config.WorkloadCertTTL.String(),
		AllowedClockSkew:   in.Config.AllowedClockSkew.String(),
		SecretOwner:        in.SecretOwner,
	}
	if in.Bundle != nil {
		s.Certificates = Certificates(in.Bundle, now)
		s.ConfigMapInSync = bytes.Equal(bytes.TrimSpace(in.PublishedRoots), bytes.TrimSpace(in.Bundle.RootsPEM))
	}
	if !in.Config.ControlPlaneTrustDomain.IsZero() {
		s.TrustDomain, s.TrustDomainDefault = in.Config.ControlPlaneTrustDomain.Name(), false
	}
	return s
}

// Certificates describes b's roots, then its issuer chain, at now.
func Certificates(b *bundle.Bundle, now time.Time) []Certificate {
	var out []Certificate
	top := b.IssuerChain[len(b.IssuerChain)-1]
	for _, r := range b.Roots {
		c := Describe(r, RoleRoot, now)
		c.SigningRoot = top.CheckSignatureFrom(r) == nil
		out = append(out, c)
	}
	for i, c := range b.IssuerChain {
		role := RoleIssuer
		if i > 0 {
			role = RoleIntermediate
		}
		out = append(out, Describe(c, role, now))
	}
	return out
}

// Describe describes one certificate at now.
func Describe(c *x509.Certificate, role string, now time.Time) Certificate {
	sum := sha256.Sum256(c.Raw)
	left := c.NotAfter.Sub(now)
	return Certificate{
		Role:          role,
		Subject:       c.Subject.String(),
		Serial:        c.SerialNumber.Text(16),
		KeyAlgorithm:  keyAlgorithm(c),
		NotBefore:     c.NotBefore.UTC(),
		NotAfter:      c.NotAfter.UTC(),
		DaysRemaining: daysIn(left),
		Expired:       now.After(c.NotAfter),
		SHA256:        hex.EncodeToString(sum[:]),
	}
}

// daysIn is the whole days of d, rounded down (-1 for the first day after
// expiry, not 0 as a truncation would give).
func daysIn(d time.Duration) int {
	day := 24 * time.Hour
	if d < 0 {
		return -int((-d + day - 1) / day)
	}
	return int(d / day)
}

func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}
