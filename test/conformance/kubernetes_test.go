package conformance

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// In Kubernetes mode, Dapr's own workload client (as in daprd, with the
// pod-bound projected token the kubelet mounts) gets its SVID from our
// Sentry through the Kubernetes validator — with Sentry bound to exactly
// Dapr's chart RBAC and started with the arguments Dapr's chart passes.
func TestDaprsSecurityProviderInKubernetesMode(t *testing.T) {
	c := cluster.New(t, cluster.Options{SentryRBAC: cluster.DaprRBAC})
	c.EmptyTrustBundle(t)
	p := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "kubernetes", "--log-level", "info", "--enable-metrics", "--trust-domain", "cluster.local",
			"--kubeconfig", c.Kubeconfig(t, "dapr-sentry")},
		Env: []string{"NAMESPACE=" + cluster.ControlPlaneNamespace},
		ID:  sentryID(),
	})
	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-1",
		map[string]string{"dapr.io/app-id": "orders", "dapr.io/enabled": "true"}, cluster.SentryID)

	// daprd in Kubernetes reads the projected token from a fixed path (an
	// explicit token file would make Dapr's client ask for the jwks
	// validator instead), so the test plays the kubelet there.
	projectSentryToken(t, token)
	client := launchDaprClient(t, p.GRPCAddr, c.Anchors(t), "orders",
		[]string{"NAMESPACE=shop", "DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true"}, "--mode", "kubernetes")
	svid := client.next(t, "svid", 60*time.Second)
	assert.Equal(t, "spiffe://public/ns/shop/orders", svid.ID)
}

// sentryTokenPath is where the injector mounts daprd's projected Sentry
// token and where Dapr's pkg/security reads it in Kubernetes mode.
const sentryTokenPath = "/var/run/secrets/dapr.io/sentrytoken/token"

// projectSentryToken writes token at sentryTokenPath for the test, and puts
// back what was there. It needs root, as CI and these machines have.
func projectSentryToken(t *testing.T, token string) {
	t.Helper()
	require.Zero(t, os.Geteuid(), "writing %s needs root, as a kubelet has", sentryTokenPath)
	old, err := os.ReadFile(sentryTokenPath)
	existed := err == nil
	require.NoError(t, os.MkdirAll(filepath.Dir(sentryTokenPath), 0o755))
	require.NoError(t, os.WriteFile(sentryTokenPath, []byte(token), 0o600))
	t.Cleanup(func() {
		if existed {
			_ = os.WriteFile(sentryTokenPath, old, 0o600)
			return
		}
		_ = os.Remove(sentryTokenPath)
	})
}
