package injector

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/injectorproc"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// The injector finds its Sentry token as Dapr's does: the projected token,
// else the legacy service-account token, else none (and no validator
// named, so Sentry's default decides).

func TestInjectorWithoutATokenLetsSentrysDefaultValidatorDecide(t *testing.T) {
	c := newCluster(t)
	// A self-hosted Sentry: its default validator needs no token.
	dir := t.TempDir()
	sentry := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "standalone", "--issuer-credentials", dir, "--trust-domain", "cluster.local"},
		Env:  []string{"NAMESPACE=" + controlPlaneNS},
		ID:   spiffeIDOf(t, sentryID),
	})
	anchors, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	anchorsFile := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(anchorsFile, anchors, 0o600))
	port := injectorproc.FreePort(t)
	c.registerWebhook(t, port)
	missing := filepath.Join(t.TempDir(), "none")
	inj := injectorproc.Start(t, injectorBin, port, injectorproc.Options{
		Args: []string{
			"--kubeconfig", c.Kubeconfig(t, "dapr-injector"), "--sentry-address", sentry.GRPCAddr,
			"--trust-anchors-file", anchorsFile,
			"--token-file", missing, "--legacy-token-file", missing, // global.mtls.mountSentryVolume=false, automountServiceAccountToken false
		},
		Env: []string{"NAMESPACE=" + controlPlaneNS, "SIDECAR_IMAGE=" + sidecarImage},
	})
	assert.Equal(t, string(anchors), string(c.caBundle(t)), "ready: the caBundle is patched")
	assert.Contains(t, inj.Logs.String(), "asking Sentry without a token and without naming a validator")
	assert.Contains(t, inj.Logs.String(), "spiffe://cluster.local/ns/dapr-system/dapr-injector", "the control plane's trust domain, as Dapr's injector asks")

	c.Namespace(t, "shop")
	created, err := c.Client.CoreV1().Pods("shop").Create(cctx(t), appPod("orders-1", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders"}), metav1.CreateOptions{})
	require.NoError(t, err, "the API server trusts the serving certificate (its DNS SAN)")
	assert.NotNil(t, containerNamed(created, "daprd"))
}

func TestInjectorFallsBackToTheLegacyServiceAccountToken(t *testing.T) {
	c := newCluster(t)
	sentry := c.startSentry(t)
	c.Anchors(t)
	port := injectorproc.FreePort(t)
	c.registerWebhook(t, port)
	// A token at the legacy path (which is what the flag names); Sentry
	// accepts only its own audiences, Dapr's too, so it carries Sentry's.
	token, _ := c.PodToken(t, controlPlaneNS, "dapr-injector", "dapr-sidecar-injector-legacy", map[string]string{"dapr.io/control-plane": "injector"}, sentryID)
	inj := injectorproc.Start(t, injectorBin, port, injectorproc.Options{
		Args: []string{
			"--kubeconfig", c.Kubeconfig(t, "dapr-injector"), "--sentry-address", sentry.GRPCAddr,
			"--trust-anchors-configmap", bundleName,
			"--token-file", filepath.Join(t.TempDir(), "none"), "--legacy-token-file", cluster.TokenFile(t, token),
		},
		Env: []string{"NAMESPACE=" + controlPlaneNS, "SIDECAR_IMAGE=" + sidecarImage},
	})
	assert.Contains(t, inj.Logs.String(), "authenticating to Sentry with the legacy service-account token")
	assert.Contains(t, inj.Logs.String(), "Workload identity issued")
}
