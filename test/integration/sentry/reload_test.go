package sentry

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/testca"
)

func configYAML(ttl, skew string) []byte {
	return fmt.Appendf(nil, `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprsystem
spec:
  mtls:
    enabled: true
    workloadCertTTL: %q
    allowedClockSkew: %q
`, ttl, skew)
}

func signLeaf(t *testing.T, client sentryv1.CAClient) (*x509.Certificate, []*x509.Certificate) {
	t.Helper()
	resp, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
	require.NoError(t, err)
	chain := parseChain(t, resp.GetWorkloadCertificate())
	return chain[0], chain[1:]
}

func TestSentryAppliesConfigurationChangesWithoutRestart(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	testca.WriteFile(t, cfg, configYAML("1h", "1m"))
	p := startSentry(t, t.TempDir(), "--config", cfg)
	client := p.client(t)

	leaf, _ := signLeaf(t, client)
	assert.InDelta(t, time.Hour.Seconds(), leaf.NotAfter.Sub(leaf.NotBefore).Seconds()-time.Minute.Seconds(), 2, "TTL 1h from the file")

	testca.WriteFile(t, cfg, configYAML("25s", "5s"))
	require.Eventually(t, func() bool {
		leaf, _ := signLeaf(t, client)
		return leaf.NotAfter.Sub(leaf.NotBefore) <= 31*time.Second
	}, 10*time.Second, 50*time.Millisecond, "the next request gets the new TTL")

	testca.WriteFile(t, cfg, []byte("spec: [this is: not a configuration"))
	time.Sleep(time.Second) // the broken edit has been seen and refused
	leaf, _ = signLeaf(t, client)
	lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
	assert.InDelta(t, 30, lifetime.Seconds(), 2, "a broken edit keeps the last good configuration")
	assert.Contains(t, p.Logs.String(), "config.yaml")
}

func TestSentryReloadsANewIssuerWithoutFailingRequests(t *testing.T) {
	dir := t.TempDir()
	root := testca.NewRoot(t)
	oldIssuer := root.Issuer(t)
	oldIssuer.WriteBundle(t, dir)
	p := startSentry(t, dir)
	client := p.client(t)

	_, chain := signLeaf(t, client)
	require.Equal(t, oldIssuer.Cert.Raw, chain[0].Raw)

	// Sign continuously while the issuer is replaced: not one request fails.
	var failures, signed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
					Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
				})
				if err != nil {
					failures.Add(1)
				}
				signed.Add(1)
			}
		}()
	}

	newIssuer := root.Issuer(t)
	testca.WriteFile(t, filepath.Join(dir, "issuer.key"), newIssuer.KeyPEM(t))
	testca.WriteFile(t, filepath.Join(dir, "issuer.crt"), newIssuer.CertPEM())
	require.Eventually(t, func() bool {
		_, chain := signLeaf(t, client)
		return string(chain[0].Raw) == string(newIssuer.Cert.Raw)
	}, 10*time.Second, 50*time.Millisecond, "the new issuer signs")

	t.Run("an invalid replacement is refused and the current issuer keeps signing", func(t *testing.T) {
		other := testca.NewRoot(t).Issuer(t) // not under our root
		testca.WriteFile(t, filepath.Join(dir, "issuer.crt"), other.CertPEM())
		time.Sleep(time.Second)
		_, chain := signLeaf(t, client)
		assert.Equal(t, newIssuer.Cert.Raw, chain[0].Raw)
		assert.Contains(t, p.Logs.String(), "Rejected new trust bundle")
	})

	close(stop)
	wg.Wait()
	assert.Positive(t, signed.Load())
	assert.Zero(t, failures.Load(), "no request failed during the reloads (%d signed)", signed.Load())

	t.Run("sentry serves with a certificate from the new issuer", func(t *testing.T) {
		// A fresh client verifies sentry's serving chain against the root.
		_, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
		require.NoError(t, err)
		leaf, _ := signLeaf(t, p.client(t))
		assert.NotNil(t, leaf)
	})
}
