package bundle

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/trustplane/trustplane/pkg/privatekey"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

// Errors callers branch on. The certificate and key problems come wrapped in
// an *Error that names the part at fault.
var (
	// ErrNotFound means a store holds no bundle at all, so one may be
	// generated.
	ErrNotFound = errors.New("trust bundle not found")
	// ErrIncomplete means a store holds part of a bundle: some files or
	// keys are there, others are missing or empty.
	ErrIncomplete = errors.New("trust bundle incomplete")
	// ErrExists means a store already holds (part of) a bundle, which is
	// never overwritten.
	ErrExists = errors.New("trust bundle already exists")
	// ErrExpired means a certificate's NotAfter has passed.
	ErrExpired = errors.New("certificate has expired")
	// ErrNotYetValid means a certificate's NotBefore is still to come.
	ErrNotYetValid = errors.New("certificate is not valid yet")
	// ErrKeyMismatch means the issuer key is not the key of the issuer
	// certificate.
	ErrKeyMismatch = errors.New("private key does not match the issuer certificate")
	// ErrNotChained means a certificate is not signed by the one that should
	// have signed it, or the chain does not verify to any root.
	ErrNotChained = errors.New("certificate chain is broken")
	// ErrSelfSignedIssuer means the issuer file holds only self-signed
	// certificates: a root cannot be its own issuer here.
	ErrSelfSignedIssuer = errors.New("issuer is self-signed")
	// ErrNotCA means a root or issuer certificate may not sign certificates.
	ErrNotCA = errors.New("certificate is not a CA")
	// ErrMalformed means the PEM or DER could not be read.
	ErrMalformed = errors.New("malformed")
)

// Part names one of the three parts of a bundle.
type Part string

// The parts of a bundle, as an *Error names them.
const (
	PartRoots  Part = "roots"
	PartIssuer Part = "issuer"
	PartKey    Part = "key"
)

// Error says which part of a bundle is wrong and why.
type Error struct {
	// Part is the part at fault.
	Part Part
	// Err is the problem, wrapping one of the package's sentinel errors
	// where one applies.
	Err error
}

// Error returns "<part>: <problem>".
func (e *Error) Error() string { return string(e.Part) + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }

// partErr builds an *Error from a format.
func partErr(p Part, format string, args ...any) error {
	return &Error{Part: p, Err: fmt.Errorf(format, args...)}
}

// Bundle is a trust bundle: trust anchors plus the issuer that signs
// workload certificates. A Bundle is not modified after it is built, so it is
// safe to share.
type Bundle struct {
	// Roots are the self-signed trust anchors, in file order.
	Roots []*x509.Certificate
	// RootsPEM is the roots file as stored (ca.crt).
	RootsPEM []byte
	// IssuerChain is the issuer first, then any intermediates; self-signed
	// roots are removed.
	IssuerChain []*x509.Certificate
	// IssuerChainPEM is IssuerChain encoded as PEM.
	IssuerChainPEM []byte
	// IssuerKey is the issuer's private key.
	IssuerKey crypto.Signer
	// IssuerKeyPEM is the key file as stored.
	IssuerKeyPEM []byte
	// JWT is the JWT-SVID signing material (jwt.key and jwks.json), when
	// JWT issuance is on and a store holds it; nil otherwise. Parse and
	// Verify do not look at it: stores parse it with jwt.ParseMaterial.
	JWT *jwt.Material
}

// WithJWT returns a copy of b holding m as its JWT material.
func (b *Bundle) WithJWT(m *jwt.Material) *Bundle {
	c := *b
	c.JWT = m
	return &c
}

// Issuer returns the certificate that signs workload certificates, or nil
// for an empty bundle.
func (b *Bundle) Issuer() *x509.Certificate {
	if b == nil || len(b.IssuerChain) == 0 {
		return nil
	}
	return b.IssuerChain[0]
}

// RootPool returns a new pool holding the roots.
func (b *Bundle) RootPool() *x509.CertPool {
	pool := x509.NewCertPool()
	if b == nil {
		return pool
	}
	for _, r := range b.Roots {
		pool.AddCert(r)
	}
	return pool
}

// Equal reports whether b and o hold the same roots, issuer chain and JWT
// material. The issuer key is not compared: a key that matches the same
// issuer certificate is the same key.
func (b *Bundle) Equal(o *Bundle) bool {
	if b == nil || o == nil {
		return b == o
	}
	return sameCerts(b.Roots, o.Roots) && sameCerts(b.IssuerChain, o.IssuerChain) && b.JWT.Equal(o.JWT)
}

func sameCerts(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw, b[i].Raw) {
			return false
		}
	}
	return true
}

// EncodeKey encodes a private key for storage as a PKCS#8 "PRIVATE KEY" PEM
// block.
func EncodeKey(key crypto.Signer) ([]byte, error) { return privatekey.Encode(key) }

// EncodeCertificates encodes certificates as concatenated PEM blocks.
func EncodeCertificates(certs []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// describe names a certificate for an error message: its position in its
// file (1-based) and its subject.
func describe(i int, c *x509.Certificate) string {
	return fmt.Sprintf("certificate %d (%s)", i+1, subjectOf(c))
}

func subjectOf(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return s
	}
	return "empty subject"
}
