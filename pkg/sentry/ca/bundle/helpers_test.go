package bundle_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// t0 is the fixed "now" of the tests that build their own certificates.
var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// testCA is a certificate with its key.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// certOpt changes a template before signing.
type certOpt func(*x509.Certificate)

func notBefore(t time.Time) certOpt { return func(c *x509.Certificate) { c.NotBefore = t } }
func notAfter(t time.Time) certOpt  { return func(c *x509.Certificate) { c.NotAfter = t } }
func subject(o string) certOpt {
	return func(c *x509.Certificate) { c.Subject = pkix.Name{Organization: []string{o}} }
}
func notCA() certOpt                   { return func(c *x509.Certificate) { c.IsCA = false } }
func keyUsage(u x509.KeyUsage) certOpt { return func(c *x509.Certificate) { c.KeyUsage = u } }
func maxPathLen(n int) certOpt {
	return func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = n, n == 0 }
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// newCert signs a CA certificate for key (a new one when nil) with parent
// (self-signed when nil), valid from t0-1y to t0+1y unless changed.
func newCert(t testing.TB, parent *testCA, key crypto.Signer, opts ...certOpt) *testCA {
	t.Helper()
	if key == nil {
		key = newKey(t)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{Organization: []string{"test " + serial.String()}},
		NotBefore:             t0.Add(-365 * 24 * time.Hour),
		NotAfter:              t0.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, o := range opts {
		o(tmpl)
	}
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: c, key: key}
}

func certPEM(cs ...*testCA) []byte {
	var out []byte
	for _, c := range cs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return out
}

func keyPEM(t testing.TB, c *testCA) []byte {
	t.Helper()
	out, err := bundle.EncodeKey(c.key)
	require.NoError(t, err)
	return out
}

func sec1PEM(t testing.TB, c *testCA) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(c.key.(*ecdsa.PrivateKey))
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}
