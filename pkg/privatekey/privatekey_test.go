package privatekey_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/privatekey"
)

func TestParse(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pkcs8, err := privatekey.Encode(ec)
	require.NoError(t, err)
	sec1Der, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1Der})
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	edPEM, err := privatekey.Encode(ed)
	require.NoError(t, err)

	tests := map[string]struct {
		data    []byte
		wantErr bool
	}{
		"a PKCS#8 ECDSA key loads":                       {data: pkcs8},
		"a SEC1 key loads":                               {data: sec1},
		"a SEC1 key after openssl's EC PARAMETERS loads": {data: append(params, sec1...)},
		"a PKCS#1 RSA key loads":                         {data: pkcs1},
		"an Ed25519 key loads":                           {data: edPEM},
		"two keys are refused":                           {data: append(pkcs8, sec1...), wantErr: true},
		"no key is refused":                              {data: []byte("nothing"), wantErr: true},
		"a certificate is refused":                       {data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), wantErr: true},
		"an encrypted key is refused":                    {data: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), wantErr: true},
		"garbage inside a key block is refused":          {data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			key, err := privatekey.Parse(tc.data)
			if tc.wantErr {
				require.Error(t, err)
				assert.True(t, errors.Is(err, privatekey.ErrInvalid))
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, key.Public())
		})
	}
}

func FuzzParse(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	p, err := privatekey.Encode(k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p)
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := privatekey.Parse(data)
		if err == nil && key == nil {
			t.Fatal("no key and no error")
		}
	})
}
