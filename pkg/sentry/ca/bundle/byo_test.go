package bundle_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// The fixtures in testdata are made by testdata/make-byo.sh with openssl,
// valid for 10 years from the day it ran.

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

func TestBringYourOwnOpenSSL(t *testing.T) {
	tests := map[string]struct {
		roots, issuer, key string
		wantRoots          int
		check              func(t *testing.T, b *bundle.Bundle)
	}{
		"an openssl P-256 issuer with its ecparam SEC1 key loads": {
			roots: "root.crt", issuer: "issuer.crt", key: "issuer.key", wantRoots: 1,
			check: func(t *testing.T, b *bundle.Bundle) {
				assert.IsType(t, &ecdsa.PrivateKey{}, b.IssuerKey)
				assert.Equal(t, []string{"spiffe://byo.example/ns/dapr-system/dapr-sentry"}, b.Issuer().Subject.Organization)
			},
		},
		"the same key as PKCS#8 loads": {
			roots: "root.crt", issuer: "issuer.crt", key: "issuer-pkcs8.key", wantRoots: 1,
			check: func(t *testing.T, b *bundle.Bundle) { assert.IsType(t, &ecdsa.PrivateKey{}, b.IssuerKey) },
		},
		"an issuer file ending in its root loads without the root": {
			roots: "root.crt", issuer: "issuer-chain.crt", key: "issuer.key", wantRoots: 1,
			check: func(t *testing.T, b *bundle.Bundle) {
				assert.Equal(t, readTestdata(t, "issuer.crt"), b.IssuerChainPEM)
			},
		},
		"a roots file with text and two roots loads both": {
			roots: "roots.crt", issuer: "issuer.crt", key: "issuer-pkcs8.key", wantRoots: 2,
			check: func(t *testing.T, b *bundle.Bundle) {
				assert.Equal(t, []string{"byo.example"}, b.Roots[0].Subject.Organization)
				assert.Equal(t, []string{"other.example"}, b.Roots[1].Subject.Organization)
			},
		},
		"an RSA-2048 issuer with a PKCS#1 key loads": {
			roots: "root.crt", issuer: "rsa-issuer.crt", key: "rsa-issuer.key", wantRoots: 1,
			check: func(t *testing.T, b *bundle.Bundle) {
				k, ok := b.IssuerKey.(*rsa.PrivateKey)
				require.True(t, ok, "RSA key, got %T", b.IssuerKey)
				assert.Equal(t, 2048, k.N.BitLen())
			},
		},
		"a step-style root-ca and intermediate-ca pair loads": {
			roots: "step-root.crt", issuer: "step-intermediate.crt", key: "step-intermediate.key", wantRoots: 1,
			check: func(t *testing.T, b *bundle.Bundle) {
				root, inter := b.Roots[0], b.Issuer()
				assert.Equal(t, "Example Root CA", root.Subject.CommonName)
				assert.Equal(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, root.KeyUsage)
				assert.Equal(t, 1, root.MaxPathLen)
				assert.NotEmpty(t, root.SubjectKeyId)
				assert.Equal(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, inter.KeyUsage)
				assert.Equal(t, 0, inter.MaxPathLen)
				assert.True(t, inter.MaxPathLenZero)
				assert.Equal(t, root.SubjectKeyId, inter.AuthorityKeyId)
				assert.Equal(t, elliptic.P256(), inter.PublicKey.(*ecdsa.PublicKey).Curve)
				assert.Contains(t, string(readTestdata(t, "step-intermediate.key")), "-----BEGIN EC PRIVATE KEY-----")
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := bundle.Parse(readTestdata(t, tc.roots), readTestdata(t, tc.issuer), readTestdata(t, tc.key))
			require.NoError(t, err)
			require.Len(t, b.Roots, tc.wantRoots)
			require.Len(t, b.IssuerChain, 1)
			issuer := b.Issuer()
			assert.True(t, issuer.IsCA)
			assert.Equal(t, 0, issuer.MaxPathLen)
			require.NoError(t, b.Verify(time.Now()))
			require.NoError(t, b.Verify(issuer.NotBefore.Add(time.Hour)))
			assert.ErrorIs(t, b.Verify(issuer.NotAfter.Add(time.Second)), bundle.ErrExpired)
			tc.check(t, b)
		})
	}
}

func TestBringYourOwnMismatches(t *testing.T) {
	tests := map[string]struct {
		roots, issuer, key string
		part               bundle.Part
		is                 error
	}{
		"the RSA key with the P-256 issuer is refused": {
			roots: "root.crt", issuer: "issuer.crt", key: "rsa-issuer.key", part: bundle.PartKey, is: bundle.ErrKeyMismatch,
		},
		"the step intermediate under the openssl root is refused": {
			roots: "root.crt", issuer: "step-intermediate.crt", key: "step-intermediate.key", part: bundle.PartIssuer, is: bundle.ErrNotChained,
		},
		"the root as its own issuer is refused": {
			roots: "root.crt", issuer: "root.crt", key: "issuer.key", part: bundle.PartIssuer, is: bundle.ErrSelfSignedIssuer,
		},
		"the issuer as a root is refused": {
			roots: "issuer.crt", issuer: "issuer.crt", key: "issuer.key", part: bundle.PartRoots, is: bundle.ErrNotChained,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := bundle.Parse(readTestdata(t, tc.roots), readTestdata(t, tc.issuer), readTestdata(t, tc.key))
			var be *bundle.Error
			require.ErrorAs(t, err, &be)
			assert.Equal(t, tc.part, be.Part)
			assert.ErrorIs(t, err, tc.is)
		})
	}
}
