package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/testca"
)

// TestFastSigner_MatchesCreateCertificate proves the fast path writes the
// very TBSCertificate x509.CreateCertificate writes, for every issuer key
// type and with and without DNS SANs, and that its signature verifies.
func TestFastSigner_MatchesCreateCertificate(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	issuerKeys := map[string]crypto.Signer{
		"P-256": testca.NewKey(t), "P-384": p384, "P-521": p521, "RSA": rsaKey, "Ed25519": edKey,
	}
	_, leafEd, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	leafKeys := map[string]crypto.PublicKey{"P-256 leaf": testca.NewKey(t).Public(), "Ed25519 leaf": leafEd.Public(), "RSA leaf": rsaKey.Public()}
	id := spiffeid.RequireFromString("spiffe://cluster.local/ns/dapr-system/dapr-injector")
	now := time.Now()

	for issuerName, issuerKey := range issuerKeys {
		issuer := testca.NewRoot(t).Issuer(t, testca.WithKey(issuerKey))
		fast, err := newFastSigner(issuer.Cert, issuerKey)
		require.NoError(t, err)
		for leafName, pub := range leafKeys {
			for _, dns := range [][]string{nil, {"dapr-sidecar-injector.dapr-system.svc"}} {
				t.Run(issuerName+" issuer signs a "+leafName+" identical to x509's", func(t *testing.T) {
					tmpl, err := LeafTemplate(LeafParams{PublicKey: pub, ID: id, DNSNames: dns, Now: now, TTL: time.Hour,
						ClockSkew: time.Minute, IssuerNotAfter: issuer.Cert.NotAfter})
					require.NoError(t, err)
					want, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.Cert, pub, issuerKey)
					require.NoError(t, err)
					spki, err := x509.MarshalPKIXPublicKey(pub)
					require.NoError(t, err)
					got, err := fast.sign(tmpl, pub, spki)
					require.NoError(t, err)

					wantCert, err := x509.ParseCertificate(want)
					require.NoError(t, err)
					gotCert, err := x509.ParseCertificate(got)
					require.NoError(t, err)
					assert.Equal(t, wantCert.RawTBSCertificate, gotCert.RawTBSCertificate)
					assert.Equal(t, wantCert.SignatureAlgorithm, gotCert.SignatureAlgorithm)
					require.NoError(t, gotCert.CheckSignatureFrom(issuer.Cert), "the fast path's signature verifies")
				})
			}
		}
	}
}

// An issuer key that is not a stdlib key (an HSM, say) goes through
// x509.CreateCertificate and its signature self-check.
func TestFastSigner_OtherSignersUseTheStdlib(t *testing.T) {
	issuer := testca.NewRoot(t).Issuer(t)
	_, err := newFastSigner(issuer.Cert, opaqueSigner{issuer.Key})
	assert.ErrorIs(t, err, errNoFastPath)
}

type opaqueSigner struct{ crypto.Signer }

// Serial numbers of every shape, and validity dates on both sides of the
// UTCTime/GeneralizedTime boundary, encode as x509.CreateCertificate does.
func TestFastSigner_EncodesSerialsAndDatesAsX509Does(t *testing.T) {
	issuer := testca.NewRoot(t).Issuer(t)
	fast, err := newFastSigner(issuer.Cert, issuer.Key)
	require.NoError(t, err)
	pub := testca.NewKey(t).Public()
	spki, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	id := spiffeid.RequireFromString("spiffe://public/ns/shop/orders")
	cases := map[string]func(*x509.Certificate){
		"a one-octet serial":                     func(c *x509.Certificate) { c.SerialNumber = big.NewInt(1) },
		"a serial with its top bit set":          func(c *x509.Certificate) { c.SerialNumber = big.NewInt(0xff) },
		"a 128-bit serial":                       func(c *x509.Certificate) { c.SerialNumber = new(big.Int).Sub(serialLimit, big.NewInt(1)) },
		"a NotAfter past 2049 (GeneralizedTime)": func(c *x509.Certificate) { c.NotAfter = time.Date(2051, 3, 1, 0, 0, 0, 0, time.UTC) },
		"a long SPIFFE ID (two-octet lengths)":   func(c *x509.Certificate) { c.URIs[0].Path = "/ns/shop/" + strings.Repeat("a", 300) },
		"many DNS names (a long SAN extension)": func(c *x509.Certificate) {
			c.DNSNames = []string{strings.Repeat("b", 63) + ".svc", "c.svc", "d.svc", "e.svc"}
		},
		"a NotBefore with a zone other than UTC set": func(c *x509.Certificate) { c.NotBefore = c.NotBefore.In(time.FixedZone("X", -7*3600)) },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl, err := LeafTemplate(LeafParams{PublicKey: pub, ID: id, Now: time.Now(), TTL: time.Hour, IssuerNotAfter: issuer.Cert.NotAfter})
			require.NoError(t, err)
			mod(tmpl)
			want, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.Cert, pub, issuer.Key)
			require.NoError(t, err)
			got, err := fast.sign(tmpl, pub, spki)
			require.NoError(t, err)
			wantCert, err := x509.ParseCertificate(want)
			require.NoError(t, err)
			gotCert, err := x509.ParseCertificate(got)
			require.NoError(t, err)
			assert.Equal(t, wantCert.RawTBSCertificate, gotCert.RawTBSCertificate)
			require.NoError(t, gotCert.CheckSignatureFrom(issuer.Cert))
		})
	}
}
