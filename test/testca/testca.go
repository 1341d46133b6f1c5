package testca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate with its key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Root is the self-signed root this CA chains to (itself for a root).
	Root *CA
}

type options struct {
	notBefore time.Time
	lifetime  time.Duration
	key       crypto.Signer
}

// Option tunes a CA.
type Option func(*options)

// WithLifetime sets the validity from NotBefore (default 1 year).
func WithLifetime(d time.Duration) Option { return func(o *options) { o.lifetime = d } }

// WithNotBefore sets NotBefore (default now − 1 minute).
func WithNotBefore(t time.Time) Option { return func(o *options) { o.notBefore = t } }

// WithKey uses key instead of a fresh P-256 key.
func WithKey(key crypto.Signer) Option { return func(o *options) { o.key = key } }

func build(t testing.TB, opts []Option) options {
	o := options{notBefore: time.Now().Add(-time.Minute), lifetime: 365 * 24 * time.Hour}
	for _, f := range opts {
		f(&o)
	}
	if o.key == nil {
		o.key = NewKey(t)
	}
	return o
}

// NewKey returns a fresh ECDSA P-256 key.
func NewKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// NewRoot returns a self-signed root CA.
func NewRoot(t testing.TB, opts ...Option) *CA {
	t.Helper()
	o := build(t, opts)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{Organization: []string{"trustplane test root"}},
		NotBefore:             o.notBefore,
		NotAfter:              o.notBefore.Add(o.lifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, o.key.Public(), o.key)
	if err != nil {
		t.Fatal(err)
	}
	c := &CA{Cert: mustParse(t, der), Key: o.key}
	c.Root = c
	return c
}

// Issuer returns an intermediate CA (pathLen 0) signed by c.
func (c *CA) Issuer(t testing.TB, opts ...Option) *CA {
	t.Helper()
	o := build(t, opts)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{Organization: []string{"trustplane test issuer"}},
		NotBefore:             o.notBefore,
		NotAfter:              o.notBefore.Add(o.lifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.Cert, o.key.Public(), c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: mustParse(t, der), Key: o.key, Root: c.Root}
}

// CertPEM is c's certificate as PEM.
func (c *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM is c's key as PKCS#8 PEM.
func (c *CA) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// WriteBundle writes ca.crt (c's root), issuer.crt and issuer.key into dir.
func (c *CA) WriteBundle(t testing.TB, dir string) {
	t.Helper()
	WriteFile(t, filepath.Join(dir, "ca.crt"), c.Root.CertPEM())
	WriteFile(t, filepath.Join(dir, "issuer.crt"), c.CertPEM())
	WriteFile(t, filepath.Join(dir, "issuer.key"), c.KeyPEM(t))
}

// WriteFile writes data to path atomically (temp file, then rename), the
// way a careful operator or kubelet replaces a file.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// CSR returns a PEM CSR with an empty template signed by key.
func CSR(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
