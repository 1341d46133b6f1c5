package server_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/server"
	"github.com/trustplane/trustplane/test/testca"
)

func TestDecodeCSR(t *testing.T) {
	ecKey := testca.NewKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	good := testca.CSR(t, ecKey)
	block, _ := pem.Decode(good)
	tampered := append([]byte(nil), block.Bytes...)
	tampered[len(tampered)-3] ^= 0xff // inside the signature
	legacy := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)

	tests := map[string]struct {
		csr     []byte
		wantErr error
		anyErr  bool
	}{
		"an ECDSA CSR is accepted":                        {csr: good},
		"an RSA CSR is accepted":                          {csr: testca.CSR(t, rsaKey)},
		"an Ed25519 CSR is accepted":                      {csr: testca.CSR(t, edKey)},
		"a P-384 CSR is accepted":                         {csr: testca.CSR(t, p384)},
		"a P-521 CSR is accepted":                         {csr: testca.CSR(t, p521)},
		"an RSA key under 2048 bits is refused":           {csr: testca.CSR(t, rsa1024), wantErr: server.ErrCSRKeyPolicy},
		"a P-224 key is refused":                          {csr: testca.CSR(t, p224), wantErr: server.ErrCSRKeyPolicy},
		"the legacy PEM type CERTIFICATE is accepted":     {csr: legacy},
		"bytes that are not PEM are refused":              {csr: []byte("garbage"), wantErr: server.ErrCSRNotPEM},
		"an empty CSR is refused":                         {csr: nil, wantErr: server.ErrCSRNotPEM},
		"a PEM block of another type is refused":          {csr: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes}), wantErr: server.ErrCSRWrongPEMType},
		"a CSR whose DER does not parse is refused":       {csr: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), anyErr: true},
		"a CSR whose signature does not match is refused": {csr: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}), anyErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			csr, err := server.DecodeCSR(tc.csr)
			switch {
			case tc.wantErr != nil:
				require.Error(t, err)
				assert.True(t, errors.Is(err, tc.wantErr), "got %v", err)
			case tc.anyErr:
				require.Error(t, err)
			default:
				require.NoError(t, err)
				assert.NotNil(t, csr.PublicKey)
			}
		})
	}
}

// The CSR's own subject and SANs never matter: DecodeCSR returns them, and
// the server only uses the public key (asserted in the server tests).
func TestDecodeCSR_KeepsOnlyWhatWasSigned(t *testing.T) {
	key := testca.NewKey(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		URIs: []*url.URL{{Scheme: "spiffe", Host: "evil", Path: "/ns/kube-system/admin"}},
	}, key)
	require.NoError(t, err)
	csr, err := server.DecodeCSR(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	require.NoError(t, err)
	assert.Equal(t, key.Public(), csr.PublicKey)
}

func FuzzDecodeCSR(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := server.DecodeCSR(data)
		if err == nil {
			// Whatever is accepted must carry a key and a valid self-signature.
			if csr.PublicKey == nil {
				t.Fatal("accepted a CSR without a public key")
			}
			if err := csr.CheckSignature(); err != nil {
				t.Fatalf("accepted a CSR with a bad signature: %v", err)
			}
		}
	})
}
