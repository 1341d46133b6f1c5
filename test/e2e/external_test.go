package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

// TestInstalledProductWithACertManagerOwnedTrustBundle installs the chart
// with dapr_sentry.tls.external and cert-manager's key names: helm never
// renders the Secret, Sentry (run as its Deployment runs it) waits for it
// without generating a CA, then serves the owner's CA, and an upgrade
// leaves the owner's Secret alone.
func TestInstalledProductWithACertManagerOwnedTrustBundle(t *testing.T) {
	env, c := startCluster(t)
	values := []string{"--set", "dapr_sentry.tls.external=true", "--set", "global.issuerFilenames.ca=ca.crt",
		"--set", "global.issuerFilenames.cert=tls.crt", "--set", "global.issuerFilenames.key=tls.key"}
	out := helm(t, env.Kubeconfig, append([]string{"install", release, chartDir(), "-n", cpNS, "--create-namespace"}, values...)...)
	assert.Contains(t, out, "CA: owned outside this chart. Sentry waits (not ready) until the Secret\ndapr-trust-bundle holds ca.crt, tls.crt and tls.key", "the install notes say what to do")
	secrets := c.client.CoreV1().Secrets(cpNS)
	_, err := secrets.Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "helm rendered no Secret: %v", err)

	sp := c.runDeployment(t, cpNS, "dapr-sentry")
	sp.takePortFlags(t, map[string]string{"--port": "grpc", "--healthz-port": "healthz", "--metrics-port": "metrics"})
	sentry := sentryproc.Launch(t, sentryBin, sentryproc.Options{
		Args: append(sp.args, "--kubeconfig", sp.kubeconfig), Env: sp.env, ID: spiffeid.RequireFromString(sentryID),
	})
	require.Eventually(t, func() bool { code, _ := sentry.Readyz(); return code == http.StatusServiceUnavailable }, 30*time.Second, 50*time.Millisecond, "Sentry is live and not ready without its CA")
	time.Sleep(time.Second)
	_, err = secrets.Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "Sentry generated nothing: %v", err)

	// cert-manager issues the CA Certificate into the Secret.
	root := testca.NewRoot(t)
	issuer := root.Issuer(t)
	owned, err := secrets.Create(cctx(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "dapr-trust-bundle", Annotations: map[string]string{"cert-manager.io/certificate-name": "dapr-issuer"}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"ca.crt": root.CertPEM(), corev1.TLSCertKey: issuer.CertPEM(), corev1.TLSPrivateKeyKey: issuer.KeyPEM(t)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	sentry.WaitReady(t)
	cm, err := c.client.CoreV1().ConfigMaps(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, string(root.CertPEM()), cm.Data["ca.crt"], "Sentry publishes the owner's root for the injector and daprd")

	helm(t, env.Kubeconfig, append([]string{"upgrade", release, chartDir(), "-n", cpNS}, values...)...)
	after, err := secrets.Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, owned.ResourceVersion, after.ResourceVersion, "helm upgrade left the owner's Secret alone")
}
