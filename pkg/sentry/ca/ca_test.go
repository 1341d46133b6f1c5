package ca_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/test/testca"
)

type opaqueSigner struct{ crypto.Signer }

func bundleOf(t testing.TB, issuer *testca.CA, key crypto.Signer) *bundle.Bundle {
	t.Helper()
	return &bundle.Bundle{
		Roots: []*x509.Certificate{issuer.Root.Cert}, RootsPEM: issuer.Root.CertPEM(),
		IssuerChain: []*x509.Certificate{issuer.Cert}, IssuerChainPEM: issuer.CertPEM(),
		IssuerKey: key,
	}
}

func chainOf(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		require.NoError(t, err)
		out = append(out, c)
	}
}

func TestAuthority_SignWorkload(t *testing.T) {
	root := testca.NewRoot(t)
	issuer := root.Issuer(t)
	tests := map[string]crypto.Signer{
		"a stdlib issuer key signs on the fast path":           issuer.Key,
		"an opaque issuer key signs through x509's own checks": opaqueSigner{issuer.Key},
	}
	for name, key := range tests {
		t.Run(name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Now())
			a, err := ca.New(ca.Options{Bundle: bundleOf(t, issuer, key), Clock: clk})
			require.NoError(t, err)
			leafKey := testca.NewKey(t)
			issued, err := a.SignWorkload(t.Context(), ca.SignRequest{PublicKey: leafKey.Public(), ID: id, TTL: time.Hour, ClockSkew: time.Minute})
			require.NoError(t, err)

			chain := chainOf(t, issued.ChainPEM)
			require.Len(t, chain, 2)
			assert.Equal(t, issued.DER, chain[0].Raw)
			assert.Equal(t, issuer.Cert.Raw, chain[1].Raw)
			assert.Equal(t, root.CertPEM(), issued.TrustAnchorsPEM)
			assert.True(t, chain[0].NotAfter.Equal(issued.NotAfter))
			assert.Equal(t, clk.Now().Add(time.Hour).Truncate(time.Second), issued.NotAfter.Truncate(time.Second))
			assert.Equal(t, chain[0].SerialNumber.Text(16), issued.Serial)
			assert.Equal(t, issuer.Cert.SubjectKeyId, chain[0].AuthorityKeyId)

			roots := x509.NewCertPool()
			roots.AddCert(root.Cert)
			inter := x509.NewCertPool()
			inter.AddCert(issuer.Cert)
			_, err = chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: clk.Now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			require.NoError(t, err)
		})
	}
}

func TestAuthority_SetBundleSwitchesTheIssuer(t *testing.T) {
	root := testca.NewRoot(t)
	first, second := root.Issuer(t), root.Issuer(t)
	a, err := ca.New(ca.Options{Bundle: bundleOf(t, first, first.Key)})
	require.NoError(t, err)
	require.NoError(t, a.SetBundle(bundleOf(t, second, second.Key)))
	issued, err := a.SignWorkload(t.Context(), ca.SignRequest{PublicKey: testca.NewKey(t).Public(), ID: id, TTL: time.Hour})
	require.NoError(t, err)
	chain := chainOf(t, issued.ChainPEM)
	assert.Equal(t, second.Cert.Raw, chain[1].Raw)
	require.NoError(t, chain[0].CheckSignatureFrom(second.Cert))

	assert.Error(t, a.SetBundle(&bundle.Bundle{}), "a bundle without an issuer is refused")
	assert.Equal(t, second.Cert.Raw, a.Bundle().Issuer().Raw, "and the current one stays")
}

func BenchmarkSignWorkload(b *testing.B) {
	issuer := testca.NewRoot(b).Issuer(b)
	a, err := ca.New(ca.Options{Bundle: bundleOf(b, issuer, issuer.Key)})
	if err != nil {
		b.Fatal(err)
	}
	pub := testca.NewKey(b).Public()
	for b.Loop() {
		if _, err := a.SignWorkload(b.Context(), ca.SignRequest{PublicKey: pub, ID: id, TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
}
