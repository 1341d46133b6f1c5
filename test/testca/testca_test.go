package testca_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/testca"
)

func TestIssuerChainsToItsRoot(t *testing.T) {
	root := testca.NewRoot(t, testca.WithLifetime(48*time.Hour))
	issuer := root.Issuer(t, testca.WithLifetime(24*time.Hour))

	assert.True(t, issuer.Cert.IsCA)
	assert.True(t, issuer.Cert.MaxPathLenZero, "an issuer signs leaves only")
	require.NoError(t, issuer.Cert.CheckSignatureFrom(root.Cert))
	assert.WithinDuration(t, issuer.Cert.NotBefore.Add(24*time.Hour), issuer.Cert.NotAfter, time.Second)

	dir := t.TempDir()
	issuer.WriteBundle(t, dir)
	for name, want := range map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": issuer.CertPEM(), "issuer.key": issuer.KeyPEM(t)} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
}

func TestCSRIsSignedByItsKey(t *testing.T) {
	key := testca.NewKey(t)
	block, _ := pem.Decode(testca.CSR(t, key))
	require.NotNil(t, block)
	assert.Equal(t, "CERTIFICATE REQUEST", block.Type)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	require.NoError(t, err)
	require.NoError(t, csr.CheckSignature())
	assert.Equal(t, key.Public(), csr.PublicKey)
}
