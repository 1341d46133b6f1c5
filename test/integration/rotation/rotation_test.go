package rotation

import (
	"context"
	"encoding/pem"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/trustctlrun"
)

const (
	appNS    = "shop"
	ttl      = 12 * time.Second
	skew     = time.Second
	interval = time.Second // a new handshake every interval
)

// trustctl runs `trustctl mtls rotate-root` in-process as the admin.
func trustctl(t *testing.T, c *cluster.Cluster, args ...string) (int, string) {
	t.Helper()
	return trustctlrun.Run(t, c.Env.Kubeconfig, append([]string{"-n", cluster.ControlPlaneNamespace, "mtls", "rotate-root"}, args...)...)
}

// stepWhenReady runs a step, refused at first, until it succeeds.
func stepWhenReady(t *testing.T, c *cluster.Cluster, within time.Duration, args ...string) time.Duration {
	t.Helper()
	return trustctlrun.StepWhenReady(t, c.Env.Kubeconfig, within, append([]string{"-n", cluster.ControlPlaneNamespace, "mtls", "rotate-root"}, args...)...)
}

func (c *testCluster) bundle(t *testing.T) *bundle.Bundle {
	t.Helper()
	s, err := c.Client.CoreV1().Secrets(cluster.ControlPlaneNamespace).Get(t.Context(), cluster.TrustBundleName, metav1.GetOptions{})
	require.NoError(t, err)
	b, err := bundle.Parse(s.Data["ca.crt"], s.Data["issuer.crt"], s.Data["issuer.key"])
	require.NoError(t, err)
	return b
}

func (c *testCluster) appAnchors(t *testing.T) int {
	t.Helper()
	cm, err := c.Client.CoreV1().ConfigMaps(appNS).Get(t.Context(), cluster.TrustBundleName, metav1.GetOptions{})
	if err != nil {
		return 0
	}
	n := 0
	for rest := []byte(cm.Data["ca.crt"]); ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return n
		}
	}
}

type testCluster struct{ *cluster.Cluster }

// podTokens creates the pods of workloads a and b and returns their tokens.
func (c *testCluster) podTokens(t *testing.T) (string, string) {
	t.Helper()
	ann := func(app string) map[string]string {
		return map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": app}
	}
	a, _ := c.PodToken(t, appNS, "a-sa", "a-pod", ann("a"), cluster.SentryID)
	b, _ := c.PodToken(t, appNS, "b-sa", "b-pod", ann("b"), cluster.SentryID)
	return a, b
}

func mustID(s string) spiffeid.ID { return spiffeid.RequireFromString(s) }

func TestRootRotationWithoutDowntime(t *testing.T) {
	c := &testCluster{cluster.New(t)}
	c.ApplyConfiguration(t, cluster.ControlPlaneNamespace, "daprsystem", map[string]any{
		"mtls": map[string]any{"enabled": true, "workloadCertTTL": ttl.String(), "allowedClockSkew": skew.String()},
	})
	p := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "kubernetes", "--kubeconfig", c.Kubeconfig(t, "dapr-sentry"), "--trust-domain", "cluster.local"},
		Env:  []string{"NAMESPACE=" + cluster.ControlPlaneNamespace},
		ID:   mustID(cluster.SentryID),
	})
	c.Anchors(t)
	c.Namespace(t, appNS)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The pods come first: their dapr.io/enabled annotation makes Sentry
	// publish the anchors the kubelet then mounts.
	oldBundle := c.bundle(t)
	tokenA, tokenB := c.podTokens(t)
	file := kubelet(t, ctx, c.Client, appNS, 500*time.Millisecond)
	a := startWorkload(t, ctx, p.GRPCAddr, appNS, "a", file, tokenA)
	b := startWorkload(t, ctx, p.GRPCAddr, appNS, "b", file, tokenB)
	require.True(t, a.leafIssuedBy(oldBundle.Issuer()))

	var h handshakes
	addr := serve(t, ctx, b, a)
	dialDone := h.dialLoop(ctx, a, b, addr, interval)
	report := func(phase string) {
		t.Logf("%s: %d handshakes ok, %d failed", phase, h.ok.Load(), h.failed.Load())
	}
	time.Sleep(2 * interval)
	report("before the rotation")

	// Phase 1: both roots everywhere; the old issuer still signs. add-root
	// runs right after a renews, so that a's next renewal — which would also
	// bring the new root, in Sentry's response — is at least 45 % of the TTL
	// away: a must learn the new root from the anchors file alone.
	a.waitRenewal(t, ttl)
	nextRenewal := time.Now().Add(ttl * 45 / 100) // pkg/security renews at 50 % ± 5 % of the lifetime
	serialA := a.serial(t)
	code, out := trustctl(t, c.Cluster, "add-root", "--valid-until", "30")
	require.Equal(t, app.ExitOK, code, out)
	require.Eventually(t, func() bool { return a.trustedRoots(t) == 2 }, time.Until(nextRenewal), 50*time.Millisecond,
		"the workload trusts the new root, from the anchors file, before it can renew")
	require.Equal(t, 2, c.appAnchors(t), "Sentry published both roots in the workloads' namespace")
	assert.Equal(t, serialA, a.serial(t), "the new root came from the anchors file, not from a renewal")
	report("after add-root")

	// Phase 2: refused until the propagation delay has passed.
	refused := stepWhenReady(t, c.Cluster, 60*time.Second, "switch-issuer", "--propagation-delay", "4s")
	t.Logf("switch-issuer was refused for %s", refused.Round(time.Millisecond))
	switchedAt := time.Now()
	newBundle := c.bundle(t)
	require.False(t, newBundle.Issuer().Equal(oldBundle.Issuer()), "the issuer changed")
	require.Eventually(t, func() bool { return a.leafIssuedBy(newBundle.Issuer()) && b.leafIssuedBy(newBundle.Issuer()) },
		2*ttl, 200*time.Millisecond, "both workloads renew under the new root")
	report("after switch-issuer")

	// Phase 3: refused until every old leaf has expired (ttl + skew).
	refused = stepWhenReady(t, c.Cluster, 2*ttl+30*time.Second, "remove-old-root")
	t.Logf("remove-old-root was refused for %s", refused.Round(time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(switchedAt), ttl+skew, "remove-old-root waited for the old leaves to expire")
	require.Eventually(t, func() bool { return c.appAnchors(t) == 1 }, 30*time.Second, 100*time.Millisecond,
		"Sentry publishes only the new root in the workloads' namespace")
	final := c.bundle(t)
	require.Len(t, final.Roots, 1)
	require.True(t, final.Roots[0].Equal(newBundle.Roots[len(newBundle.Roots)-1]), "the new root remains")

	// Keep going through another renewal on the new anchors only.
	time.Sleep(ttl)
	cancel()
	<-dialDone
	report("after remove-old-root")
	h.mu.Lock()
	defer h.mu.Unlock()
	assert.Empty(t, h.errs, "no handshake failed")
	assert.Zero(t, h.failed.Load())
	assert.Greater(t, h.ok.Load(), int64(20), "handshakes kept happening")
	code, out = trustctl(t, c.Cluster, "status")
	require.Equal(t, app.ExitOK, code)
	assert.Contains(t, out, "Phase:      complete")
	t.Log(out)
}
