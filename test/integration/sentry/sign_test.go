package sentry

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/testca"
)

func parseChain(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		require.Equal(t, "CERTIFICATE", b.Type)
		c, err := x509.ParseCertificate(b.Bytes)
		require.NoError(t, err)
		certs = append(certs, c)
	}
	return certs
}

func TestSentryGeneratesItsCAAndSigns(t *testing.T) {
	dir := t.TempDir()
	p := startSentry(t, dir)

	for _, f := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, "sentry writes %s", f)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "%s is private", f)
	}
	roots := p.anchors(t)
	require.Len(t, roots, 1)
	assert.WithinDuration(t, time.Now().Add(365*24*time.Hour), roots[0].NotAfter, time.Hour, "the root lives a year")

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	keys := map[string]crypto.Signer{"ECDSA P-256": testca.NewKey(t), "RSA 2048": rsaKey, "Ed25519": edKey}

	client := p.client(t)
	for name, key := range keys {
		t.Run("a workload with an "+name+" key gets an SVID", func(t *testing.T) {
			before := time.Now()
			resp, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
				Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, key),
			})
			require.NoError(t, err)
			chain := parseChain(t, resp.GetWorkloadCertificate())
			require.Len(t, chain, 2, "leaf and issuer, root excluded")
			leaf, issuer := chain[0], chain[1]

			require.Len(t, leaf.URIs, 1)
			assert.Equal(t, "spiffe://public/ns/shop/orders", leaf.URIs[0].String(), "trust domain defaults to public")
			assert.Empty(t, leaf.DNSNames)
			assert.Equal(t, key.Public(), leaf.PublicKey, "the leaf certifies the CSR's key")
			assert.False(t, leaf.IsCA)
			assert.Equal(t, x509.KeyUsageDigitalSignature, leaf.KeyUsage)
			assert.ElementsMatch(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, leaf.ExtKeyUsage)
			assert.WithinDuration(t, before.Add(24*time.Hour), leaf.NotAfter, 5*time.Second, "default TTL is 24h")
			assert.WithinDuration(t, before.Add(-15*time.Minute), leaf.NotBefore, 5*time.Second, "default skew is 15m")
			assert.Equal(t, leaf.NotAfter, resp.GetValidUntil().AsTime(), "valid_until is the leaf's NotAfter")
			assert.True(t, issuer.IsCA)
			assert.True(t, issuer.MaxPathLenZero, "the issuer may sign leaves only")

			pool := x509.NewCertPool()
			for _, r := range roots {
				pool.AddCert(r)
			}
			inter := x509.NewCertPool()
			inter.AddCert(issuer)
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			require.NoError(t, err, "the leaf chains to the root in ca.crt")

			require.Len(t, resp.GetTrustChainCertificates(), 1, "one element holding every anchor")
			anchors, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
			require.NoError(t, err)
			assert.Equal(t, anchors, resp.GetTrustChainCertificates()[0])
			assert.Nil(t, resp.GetJwt(), "no JWT unless enabled")
		})
	}

	t.Run("the requested trust domain is honoured by the insecure validator", func(t *testing.T) {
		resp, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
			Id: "orders", Namespace: "shop", TrustDomain: "example.org", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
			TokenValidator: sentryv1.SignCertificateRequest_INSECURE,
		})
		require.NoError(t, err)
		assert.Equal(t, "spiffe://example.org/ns/shop/orders", parseChain(t, resp.GetWorkloadCertificate())[0].URIs[0].String())
	})

	t.Run("the CSR's own names are ignored", func(t *testing.T) {
		key := testca.NewKey(t)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"evil.example"}}, key)
		require.NoError(t, err)
		resp, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
			Id: "orders", Namespace: "shop", CertificateSigningRequest: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		})
		require.NoError(t, err)
		leaf := parseChain(t, resp.GetWorkloadCertificate())[0]
		assert.Empty(t, leaf.DNSNames)
		assert.Len(t, leaf.URIs, 1)
	})

	t.Run("the injector in sentry's namespace gets its webhook DNS name", func(t *testing.T) {
		resp, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
			Id: "dapr-injector", Namespace: "default", TrustDomain: "cluster.local", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"dapr-sidecar-injector.default.svc"}, parseChain(t, resp.GetWorkloadCertificate())[0].DNSNames)
	})

	t.Run("metrics count requests with Dapr's names", func(t *testing.T) {
		m := p.Metrics(t)
		for _, name := range []string{
			"dapr_sentry_cert_sign_request_received_total", "dapr_sentry_cert_sign_success_total",
			"dapr_sentry_cert_sign_failure_total", "dapr_sentry_issuercert_expiry_timestamp",
			"dapr_sentry_rootcert_expiry_timestamp",
		} {
			assert.Contains(t, m, name)
		}
		assert.Regexp(t, `(?m)^dapr_sentry_cert_sign_success_total [1-9]`, m)
	})
}

func TestSentryKeepsAnExistingCAAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	first := startSentry(t, dir)
	before := map[string][]byte{}
	for _, f := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		before[f] = data
	}
	assert.Equal(t, 0, first.Stop(t), "a signal is a graceful stop")

	second := startSentry(t, dir)
	for f, data := range before {
		now, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Equal(t, data, now, "%s is untouched by a restart", f)
	}
	assert.Equal(t, first.anchors(t)[0].Raw, second.anchors(t)[0].Raw)
	assert.Contains(t, second.Logs.String(), "Root and issuer certs found")
}
