package kubernetes

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

const (
	bundleName = "dapr-trust-bundle"
	sentryID   = "spiffe://cluster.local/ns/dapr-system/dapr-sentry"
)

func (c *kcluster) sentryOptions(t *testing.T, extra ...string) sentryproc.Options {
	return sentryproc.Options{
		Args: append([]string{"--mode", "kubernetes", "--kubeconfig", c.Kubeconfig(t, "dapr-sentry"), "--trust-domain", "cluster.local"}, extra...),
		Env:  []string{"NAMESPACE=" + sentryNS},
		ID:   mustID(sentryID),
	}
}

func (c *kcluster) startSentry(t *testing.T) *sentryproc.Proc {
	t.Helper()
	return sentryproc.Start(t, sentryBin, c.sentryOptions(t))
}

func (c *kcluster) secret(t *testing.T) *corev1.Secret {
	t.Helper()
	s, err := c.Client.CoreV1().Secrets(sentryNS).Get(cctx(t), bundleName, metav1.GetOptions{})
	require.NoError(t, err)
	return s
}

func leafOf(t *testing.T, resp *sentryv1.SignCertificateResponse) (*x509.Certificate, []*x509.Certificate) {
	t.Helper()
	var chain []*x509.Certificate
	for rest := resp.GetWorkloadCertificate(); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		require.NoError(t, err)
		chain = append(chain, c)
	}
	require.NotEmpty(t, chain)
	return chain[0], chain[1:]
}

func sign(t *testing.T, client sentryv1.CAClient, token, ns, id string) (*sentryv1.SignCertificateResponse, error) {
	t.Helper()
	return client.SignCertificate(sentryproc.Context(t), &sentryv1.SignCertificateRequest{
		Id: id, Namespace: ns, Token: token, CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
}

func TestSentryGeneratesTheTrustBundleSecretAndValidatesPodTokens(t *testing.T) {
	c := newCluster(t)
	p := c.startSentry(t)

	s := c.secret(t)
	for _, k := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		assert.NotEmpty(t, s.Data[k], "the Secret holds %s", k)
	}
	anchors := c.Anchors(t)
	assert.Equal(t, string(s.Data["ca.crt"]), string(anchors), "the ConfigMap publishes the Secret's roots")
	client := p.Client(t, anchors)

	c.Namespace(t, "shop")
	c.Namespace(t, "other")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-7d9f", map[string]string{"dapr.io/app-id": "orders"}, sentryID)

	t.Run("a pod-bound token gets its pod's identity", func(t *testing.T) {
		resp, err := sign(t, client, token, "shop", "orders")
		require.NoError(t, err)
		leaf, _ := leafOf(t, resp)
		assert.Equal(t, "spiffe://public/ns/shop/orders", leaf.URIs[0].String())
	})
	denied := map[string]struct{ ns, id string }{
		"the token asking for another namespace is denied": {"other", "orders"},
		"the token asking for another app id is denied":    {"shop", "payments"},
	}
	for name, tc := range denied {
		t.Run(name, func(t *testing.T) {
			_, err := sign(t, client, token, tc.ns, tc.id)
			assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
		})
	}
	t.Run("a token for another audience is denied", func(t *testing.T) {
		wrong, _ := c.PodToken(t, "shop", "orders-sa", "orders-aud", map[string]string{"dapr.io/app-id": "orders"}, "https://kubernetes.default.svc")
		_, err := sign(t, client, wrong, "shop", "orders")
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	})
	t.Run("a token of another service account cannot claim the app", func(t *testing.T) {
		other, _ := c.PodToken(t, "shop", "intruder", "intruder-1", map[string]string{"dapr.io/app-id": "intruder"}, sentryID)
		_, err := sign(t, client, other, "shop", "orders")
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	})
	t.Run("the legacy audience dapr.io/sentry is accepted", func(t *testing.T) {
		legacy, _ := c.PodToken(t, "shop", "orders-sa", "orders-legacy", map[string]string{"dapr.io/app-id": "orders"}, "dapr.io/sentry")
		_, err := sign(t, client, legacy, "shop", "orders")
		require.NoError(t, err)
	})
	t.Run("a token whose pod is gone is denied", func(t *testing.T) {
		gone, pod := c.PodToken(t, "shop", "orders-sa", "orders-gone", map[string]string{"dapr.io/app-id": "orders"}, sentryID)
		require.NoError(t, c.Client.CoreV1().Pods("shop").Delete(cctx(t), pod.Name, metav1.DeleteOptions{}))
		require.Eventually(t, func() bool {
			_, err := sign(t, client, gone, "shop", "orders")
			return status.Code(err) == codes.PermissionDenied
		}, 30*time.Second, 200*time.Millisecond)
	})
	t.Run("control-plane identities are only for Sentry's namespace", func(t *testing.T) {
		cp, _ := c.PodToken(t, "shop", "fake-injector", "fake-injector", map[string]string{"dapr.io/control-plane": "injector"}, sentryID)
		_, err := sign(t, client, cp, "shop", "dapr-injector")
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	})
	t.Run("the injector in Sentry's namespace gets its identity and webhook DNS name", func(t *testing.T) {
		inj, _ := c.PodToken(t, sentryNS, "dapr-injector", "dapr-sidecar-injector-0", map[string]string{"dapr.io/control-plane": "injector"}, sentryID)
		resp, err := sign(t, client, inj, sentryNS, "dapr-injector")
		require.NoError(t, err)
		leaf, _ := leafOf(t, resp)
		assert.Equal(t, "spiffe://cluster.local/ns/dapr-system/dapr-injector", leaf.URIs[0].String())
		assert.Equal(t, []string{"dapr-sidecar-injector.dapr-system.svc"}, leaf.DNSNames)
	})
	t.Run("a repeat sign costs no TokenReview", func(t *testing.T) {
		before := tokenReviews(t, p)
		for range 5 {
			_, err := sign(t, client, token, "shop", "orders")
			require.NoError(t, err)
		}
		assert.Equal(t, before, tokenReviews(t, p), "cached reviews are reused")
	})
}

// tokenReviews sums the TokenReview request counter.
func tokenReviews(t *testing.T, p *sentryproc.Proc) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(p.Metrics(t), "\n") {
		if strings.HasPrefix(l, "dapr_sentry_kubernetes_tokenreview_requests_total") {
			lines = append(lines, l)
		}
	}
	require.NotEmpty(t, lines, "the TokenReview counter is exported")
	return strings.Join(lines, "\n")
}

func TestThreeSentriesStartingAtOnceAgreeOnOneRoot(t *testing.T) {
	c := newCluster(t)
	var procs []*sentryproc.Proc
	for range 3 {
		procs = append(procs, sentryproc.Launch(t, sentryBin, c.sentryOptions(t)))
	}
	for _, p := range procs {
		p.WaitReady(t)
	}
	anchors := c.Anchors(t)
	roots, err := parseCerts(anchors)
	require.NoError(t, err)
	require.Len(t, roots, 1, "exactly one root")

	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-1", map[string]string{"dapr.io/app-id": "orders"}, sentryID)
	for i, p := range procs {
		resp, err := sign(t, p.Client(t, anchors), token, "shop", "orders")
		require.NoError(t, err, "sentry %d", i)
		leaf, chain := leafOf(t, resp)
		pool := x509.NewCertPool()
		pool.AddCert(roots[0])
		inter := x509.NewCertPool()
		for _, c := range chain {
			inter.AddCert(c)
		}
		_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		require.NoError(t, err, "sentry %d signs under the one root", i)
	}
}

func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return out, nil
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

func TestSentryLoadsABringYourOwnSecretAndHotReloadsANewIssuer(t *testing.T) {
	c := newCluster(t)
	root := testca.NewRoot(t)
	issuer := root.Issuer(t)
	_, err := c.Client.CoreV1().Secrets(sentryNS).Create(cctx(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bundleName},
		Data:       map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": issuer.CertPEM(), "issuer.key": issuer.KeyPEM(t)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	p := c.startSentry(t)
	anchors := c.Anchors(t)
	assert.Equal(t, string(root.CertPEM()), string(anchors))
	client := p.Client(t, anchors)
	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-1", map[string]string{"dapr.io/app-id": "orders"}, sentryID)

	resp, err := sign(t, client, token, "shop", "orders")
	require.NoError(t, err)
	_, chain := leafOf(t, resp)
	require.Equal(t, issuer.Cert.Raw, chain[0].Raw, "the user's issuer signs")

	// A client keeps signing through the edit: not one request may fail.
	var failures, signed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := sign(t, client, token, "shop", "orders"); err != nil {
				failures.Add(1)
			}
			signed.Add(1)
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
		assert.Positive(t, signed.Load())
		assert.Zero(t, failures.Load(), "no request failed while the issuer changed (%d signed)", signed.Load())
	}()

	next := root.Issuer(t)
	s := c.secret(t)
	s.Data["issuer.crt"], s.Data["issuer.key"] = next.CertPEM(), next.KeyPEM(t)
	_, err = c.Client.CoreV1().Secrets(sentryNS).Update(cctx(t), s, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := sign(t, client, token, "shop", "orders")
		if err != nil {
			return false
		}
		_, chain := leafOf(t, resp)
		return string(chain[0].Raw) == string(next.Cert.Raw)
	}, 20*time.Second, 100*time.Millisecond, "kubectl edit of the Secret is picked up without a restart")

	t.Run("an invalid edit is refused and the current issuer keeps signing", func(t *testing.T) {
		s := c.secret(t)
		s.Data["issuer.key"] = testca.NewRoot(t).KeyPEM(t) // does not match issuer.crt
		_, err := c.Client.CoreV1().Secrets(sentryNS).Update(cctx(t), s, metav1.UpdateOptions{})
		require.NoError(t, err)
		time.Sleep(2 * time.Second)
		resp, err := sign(t, client, token, "shop", "orders")
		require.NoError(t, err)
		_, chain := leafOf(t, resp)
		assert.Equal(t, next.Cert.Raw, chain[0].Raw)
		assert.Contains(t, p.Logs.String(), "Rejected new trust bundle")
	})
}

func TestSentryRefusesAPartialSecretAndLeavesItUntouched(t *testing.T) {
	c := newCluster(t)
	root := testca.NewRoot(t)
	created, err := c.Client.CoreV1().Secrets(sentryNS).Create(cctx(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bundleName},
		Data:       map[string][]byte{"ca.crt": root.CertPEM()},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	p := sentryproc.Launch(t, sentryBin, c.sentryOptions(t))
	assert.Equal(t, 1, p.ExitCode(t), "sentry refuses to start")
	assert.Contains(t, p.Logs.String(), "issuer.key")

	after := c.secret(t)
	assert.Equal(t, created.ResourceVersion, after.ResourceVersion, "the Secret was not written")
	assert.Equal(t, created.Data, after.Data)
	_, err = c.Client.CoreV1().ConfigMaps(sentryNS).Get(cctx(t), bundleName, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no ConfigMap published from a refused bundle")

	require.Eventually(t, func() bool {
		events, err := c.Client.CoreV1().Events(sentryNS).List(cctx(t), metav1.ListOptions{})
		require.NoError(t, err)
		for _, e := range events.Items {
			if e.InvolvedObject.Name == bundleName && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "issuer.key") {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "a Warning Event on the Secret says what is wrong")
}

func TestSentryAppliesDaprsystemEditsToTheNextCertificate(t *testing.T) {
	c := newCluster(t)
	c.configuration(t, "1h")
	p := c.startSentry(t)
	client := p.Client(t, c.Anchors(t))
	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-1", map[string]string{"dapr.io/app-id": "orders"}, sentryID)

	lifetime := func() time.Duration {
		resp, err := sign(t, client, token, "shop", "orders")
		require.NoError(t, err)
		leaf, _ := leafOf(t, resp)
		return time.Until(leaf.NotAfter)
	}
	assert.InDelta(t, time.Hour.Seconds(), lifetime().Seconds(), 5)

	c.configuration(t, "25s")
	require.Eventually(t, func() bool { return lifetime() <= 26*time.Second }, 20*time.Second, 100*time.Millisecond,
		"the next certificate has the new TTL")
}

// configuration creates or updates daprsystem with the given TTL.
func (c *kcluster) configuration(t *testing.T, ttl string) {
	t.Helper()
	c.ApplyConfiguration(t, sentryNS, "daprsystem", map[string]any{"mtls": map[string]any{
		"enabled": true, "workloadCertTTL": ttl, "allowedClockSkew": "15m",
		"controlPlaneTrustDomain": "cluster.local", "sentryAddress": "dapr-sentry.dapr-system.svc:443",
	}})
}
