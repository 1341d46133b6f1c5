package security

import (
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewCSR(t *testing.T) {
	tests := map[string]struct {
		keyType KeyType
		wantAlg x509.PublicKeyAlgorithm
	}{
		"an ECDSA P-256 request is signed by its key": {KeyTypeECDSAP256, x509.ECDSA},
		"an Ed25519 request is signed by its key":     {KeyTypeEd25519, x509.Ed25519},
		"an RSA-2048 request is signed by its key":    {KeyTypeRSA2048, x509.RSA},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			key, raw, err := newCSR(tc.keyType)
			require.NoError(t, err)
			csr := parseTestCSR(t, raw)
			assert.Equal(t, tc.wantAlg, csr.PublicKeyAlgorithm)
			pub, err := x509.MarshalPKIXPublicKey(key.Public())
			require.NoError(t, err)
			assert.Equal(t, pub, csr.RawSubjectPublicKeyInfo, "the request carries the returned key")
			assert.Empty(t, csr.Subject.Names)
			assert.Empty(t, csr.Extensions, "no SANs or other extensions")
		})
	}
	_, _, err := newCSR(KeyType(42))
	require.Error(t, err)
}

func TestParseKeyType(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    KeyType
		wantErr bool
	}{
		"empty means ECDSA P-256":       {in: "", want: KeyTypeECDSAP256},
		"names are case-insensitive":    {in: "ED25519", want: KeyTypeEd25519},
		"rsa-2048 is RSA":               {in: "rsa-2048", want: KeyTypeRSA2048},
		"ecdsa-p256 round-trips String": {in: KeyTypeECDSAP256.String(), want: KeyTypeECDSAP256},
		"an unknown name is an error":   {in: "p384", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseKeyType(tc.in)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	assert.Equal(t, "KeyType(9)", KeyType(9).String())
}
