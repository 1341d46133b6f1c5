package renew

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/spiffe"
	"github.com/trustplane/trustplane/test/testca"
)

func pemOf(t *testing.T, typ string, der []byte, err error) []byte {
	t.Helper()
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKey(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pkcs8 := func(k crypto.Signer) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		return pemOf(t, "PRIVATE KEY", der, err)
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)

	accepted := map[string]struct {
		data []byte
		want crypto.PublicKey
	}{
		"a SEC1 ECDSA key is accepted": {pemOf(t, "EC PRIVATE KEY", sec1, nil), ec.Public()},
		"a SEC1 key with an EC PARAMETERS block (openssl ecparam -genkey) is accepted": {
			append(pemOf(t, "EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}, nil), pemOf(t, "EC PRIVATE KEY", sec1, nil)...), ec.Public()},
		"a PKCS#8 ECDSA key is accepted":   {pkcs8(ec), ec.Public()},
		"a PKCS#8 RSA key is accepted":     {pkcs8(rk), rk.Public()},
		"a PKCS#1 RSA key is accepted":     {pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), nil), rk.Public()},
		"a PKCS#8 Ed25519 key is accepted": {pkcs8(ed), ed.Public()},
	}
	for name, tc := range accepted {
		t.Run(name, func(t *testing.T) {
			k, err := ParseKey(tc.data)
			require.NoError(t, err)
			assert.True(t, k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want))
		})
	}

	refused := map[string]struct {
		data []byte
		msg  string
	}{
		"an empty file is refused":          {nil, "no PEM private key block"},
		"a certificate is refused":          {testca.NewRoot(t).CertPEM(), `"CERTIFICATE"`},
		"two keys are refused":              {append(pkcs8(ec), pkcs8(ed)...), "2 private keys"},
		"an encrypted key is refused":       {pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1}, nil), "encrypted"},
		"garbage in a key block is refused": {pemOf(t, "PRIVATE KEY", []byte("nope"), nil), "PRIVATE KEY block 1"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := ParseKey(tc.data)
			require.ErrorIs(t, err, ErrKey)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func FuzzParseKey(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	sec1, _ := x509.MarshalECPrivateKey(k)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParseKey(data)
		if (err == nil) == (key == nil) {
			t.Fatalf("ParseKey returned key %v and error %v", key, err)
		}
	})
}

func TestGenerate(t *testing.T) {
	td, err := spiffe.TrustDomain("example.org")
	require.NoError(t, err)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	cases := map[string]crypto.Signer{
		"a fresh bundle verifies and follows the options": nil,
		"an ECDSA root key is reused":                     testca.NewKey(t),
		"an RSA root key is reused":                       rk,
		"an Ed25519 root key is reused":                   ed,
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Generate(Options{TrustDomain: td, Namespace: "dapr-system", Now: now,
				AllowedClockSkew: time.Hour, ValidFor: 30 * 24 * time.Hour, RootKey: key})
			require.NoError(t, err)
			require.NoError(t, b.Verify(now))
			root := b.Roots[0]
			assert.Equal(t, now.Add(-time.Hour), root.NotBefore)
			assert.Equal(t, now.Add(30*24*time.Hour), root.NotAfter)
			assert.Equal(t, root.NotAfter, b.Issuer().NotAfter)
			assert.Equal(t, []string{"example.org"}, root.Subject.Organization)
			assert.Equal(t, []string{"spiffe://example.org/ns/dapr-system/dapr-sentry"}, b.Issuer().Subject.Organization)
			if key != nil {
				assert.True(t, key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(root.PublicKey))
			}
		})
	}
}

func TestGenerateKeepsTheSubjectOfTheRootWithTheSameKey(t *testing.T) {
	td, err := spiffe.TrustDomain("cluster.local")
	require.NoError(t, err)
	old := testca.NewRoot(t)
	unrelated := testca.NewRoot(t)
	b, err := Generate(Options{TrustDomain: td, Namespace: "ns", Now: time.Now(), RootKey: old.Key,
		CurrentRoots: []*x509.Certificate{unrelated.Cert, old.Cert}})
	require.NoError(t, err)
	assert.Equal(t, old.Cert.RawSubject, b.Roots[0].RawSubject)
	assert.Equal(t, old.Cert.SubjectKeyId, b.Roots[0].SubjectKeyId)
	assert.True(t, SameKey(b.Roots[0], old.Cert))
	assert.False(t, SameKey(b.Roots[0], unrelated.Cert))

	// The old root certificate verifies the new issuer.
	pool := x509.NewCertPool()
	pool.AddCert(old.Cert)
	_, err = b.Issuer().Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	assert.NoError(t, err)
}

func TestGenerateRefusesBadOptions(t *testing.T) {
	td, err := spiffe.TrustDomain("cluster.local")
	require.NoError(t, err)
	cases := map[string]Options{
		"a negative lifetime is refused":              {TrustDomain: td, Namespace: "ns", Now: time.Now(), ValidFor: -time.Hour},
		"a missing trust domain is refused":           {Namespace: "ns", Now: time.Now(), RootKey: testca.NewKey(t)},
		"a missing time is refused":                   {TrustDomain: td, Namespace: "ns", RootKey: testca.NewKey(t)},
		"a negative clock skew is refused":            {TrustDomain: td, Namespace: "ns", Now: time.Now(), RootKey: testca.NewKey(t), AllowedClockSkew: -1},
		"an invalid namespace is refused":             {TrustDomain: td, Namespace: "Not_A_Namespace", Now: time.Now(), RootKey: testca.NewKey(t)},
		"a fresh bundle without trust domain refused": {Namespace: "ns", Now: time.Now()},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Generate(opts)
			assert.Error(t, err)
		})
	}
}

func TestBringYourOwn(t *testing.T) {
	ca := testca.NewRoot(t).Issuer(t)
	other := testca.NewRoot(t).Issuer(t)
	cases := map[string]struct {
		roots, issuer, key []byte
		now                time.Time
		want               error
	}{
		"a matching bundle is accepted":            {ca.Root.CertPEM(), ca.CertPEM(), ca.KeyPEM(t), time.Now(), nil},
		"a key of another issuer is refused":       {ca.Root.CertPEM(), ca.CertPEM(), other.KeyPEM(t), time.Now(), bundle.ErrKeyMismatch},
		"an issuer of another root is refused":     {ca.Root.CertPEM(), other.CertPEM(), other.KeyPEM(t), time.Now(), bundle.ErrNotChained},
		"a bundle checked after expiry is refused": {ca.Root.CertPEM(), ca.CertPEM(), ca.KeyPEM(t), time.Now().Add(2 * 365 * 24 * time.Hour), bundle.ErrExpired},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := BringYourOwn(tc.roots, tc.issuer, tc.key, tc.now)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.roots, b.RootsPEM)
				return
			}
			assert.ErrorIs(t, err, tc.want)
		})
	}
}
