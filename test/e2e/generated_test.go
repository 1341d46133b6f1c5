package e2e

import (
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// TestInstalledProductGeneratesItsCA installs the chart without a CA: the
// chart creates the trust bundle Secret empty, Sentry (run as its
// Deployment runs it) fills it, and a helm upgrade keeps it.
func TestInstalledProductGeneratesItsCA(t *testing.T) {
	env, c := startCluster(t)
	helm(t, env.Kubeconfig, "install", release, chartDir(), "-n", cpNS, "--create-namespace")
	empty, err := c.client.CoreV1().Secrets(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.NoError(t, err)
	for _, k := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		require.Empty(t, empty.Data[k], "the chart leaves %s for Sentry", k)
	}

	sp := c.runDeployment(t, cpNS, "dapr-sentry")
	sp.takePortFlags(t, map[string]string{"--port": "grpc", "--healthz-port": "healthz", "--metrics-port": "metrics"})
	sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: append(sp.args, "--kubeconfig", sp.kubeconfig), Env: sp.env, ID: spiffeid.RequireFromString(sentryID),
	})

	var generated map[string][]byte
	require.Eventually(t, func() bool {
		s, err := c.client.CoreV1().Secrets(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
		require.NoError(t, err)
		generated = s.Data
		return len(s.Data["issuer.key"]) > 0
	}, 30*time.Second, 100*time.Millisecond, "Sentry fills the empty Secret")
	b, err := bundle.Parse(generated["ca.crt"], generated["issuer.crt"], generated["issuer.key"])
	require.NoError(t, err)
	require.NoError(t, b.Verify(time.Now()), "the generated CA is valid")
	require.Eventually(t, func() bool {
		cm, err := c.client.CoreV1().ConfigMaps(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
		return err == nil && cm.Data["ca.crt"] == string(generated["ca.crt"])
	}, 30*time.Second, 100*time.Millisecond, "the anchors ConfigMap publishes the generated root")

	helm(t, env.Kubeconfig, "upgrade", release, chartDir(), "-n", cpNS, "--set", "global.mtls.workloadCertTTL=2h")
	after, err := c.client.CoreV1().Secrets(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, generated, after.Data, "helm upgrade never wipes a generated CA")
}
