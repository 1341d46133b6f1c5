package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/test/daprbin"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// The migration path Dapr users take: Dapr v1.18.3's own chart, unchanged,
// with our images swapped in (dapr_sentry.image.name is used verbatim when
// it has a "/"), and our Sentry run exactly as that chart's Deployment runs
// it — its args, env, ServiceAccount and Dapr's RBAC.
func TestOurSentryInDaprsChart(t *testing.T) {
	const ns = "dapr-system"
	env, c := startCluster(t)
	swap := []string{"--set", "dapr_sentry.image.name=ghcr.io/trustplane/sentry:0.1.0",
		"--set", "dapr_sidecar_injector.injectorImage.name=ghcr.io/trustplane/injector:0.1.0"}
	helm(t, env.Kubeconfig, append([]string{"install", "dapr", daprbin.ChartDir(t), "-n", ns, "--create-namespace"}, swap...)...)

	sp := c.runDeployment(t, ns, "dapr-sentry")
	assert.Equal(t, "ghcr.io/trustplane/sentry:0.1.0", sp.container.Image)
	assert.Equal(t, []string{"/sentry"}, sp.container.Command, "Dapr's chart runs /sentry, where our image has it")
	sp.takePortFlags(t, map[string]string{"--metrics-port": "metrics"})
	id := spiffeid.RequireFromString("spiffe://cluster.local/ns/" + ns + "/dapr-sentry")
	sentry := sentryproc.Start(t, sentryBin, sentryproc.Options{Args: append(sp.args, "--kubeconfig", sp.kubeconfig), Env: sp.env, ID: id})

	secret := func() *corev1.Secret {
		s, err := c.client.CoreV1().Secrets(ns).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
		require.NoError(t, err)
		return s
	}
	generated := secret()
	for _, k := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		require.NotEmpty(t, generated.Data[k], "Sentry generated the CA into Dapr's Secret: %s", k)
	}
	cm, err := c.client.CoreV1().ConfigMaps(ns).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, string(generated.Data["ca.crt"]), cm.Data["ca.crt"], "and published its roots in Dapr's ConfigMap")
	anchors := generated.Data["ca.crt"]

	c.appNamespace(t)
	leafTTL := func() time.Duration {
		pod := c.appPod(t, "", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders"})
		leaf, err := sign(t, sentry, anchors, c.token(t, pod, nil, id.String()), "orders")
		require.NoError(t, err)
		assert.Equal(t, "spiffe://public/ns/"+appNS+"/orders", leaf.URIs[0].String())
		return leaf.NotAfter.Sub(leaf.NotBefore)
	}
	// Dapr's chart: workloadCertTTL 24h, allowedClockSkew 15m (NotBefore is backdated).
	assert.Equal(t, 24*time.Hour+15*time.Minute, leafTTL(), "a pod-bound token gets its SVID, with the TTL of Dapr's daprsystem")

	t.Run("kubectl edit configurations/daprsystem applies to the next certificate", func(t *testing.T) {
		dyn := dynamic.NewForConfigOrDie(env.Config)
		cfgs := dyn.Resource(v1alpha1.GroupVersionResource).Namespace(ns)
		u, err := cfgs.Get(cctx(t), "daprsystem", metav1.GetOptions{})
		require.NoError(t, err)
		spec := u.Object["spec"].(map[string]any)
		spec["mtls"].(map[string]any)["workloadCertTTL"] = "2h"
		_, err = cfgs.Update(cctx(t), u, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return leafTTL() == 2*time.Hour+15*time.Minute }, 30*time.Second, 500*time.Millisecond)
	})
	t.Run("helm upgrade --reuse-values keeps the CA", func(t *testing.T) {
		helm(t, env.Kubeconfig, "upgrade", "dapr", daprbin.ChartDir(t), "-n", ns, "--reuse-values")
		after := secret()
		for _, k := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
			assert.True(t, bytes.Equal(generated.Data[k], after.Data[k]), "%s unchanged", k)
		}
		code, body := sentry.Readyz()
		assert.Equal(t, 200, code, body)
	})
}

// Dapr's --set-file dapr_sentry.tls.* bring-your-own CA works with our Sentry
// in Dapr's chart: Sentry signs under the user's issuer and never replaces it.
func TestOurSentryInDaprsChartWithABroughtCA(t *testing.T) {
	const ns = "dapr-system"
	env, c := startCluster(t)
	ca := writeCA(t, t.TempDir())
	helm(t, env.Kubeconfig, "install", "dapr", daprbin.ChartDir(t), "-n", ns, "--create-namespace",
		"--set", "dapr_sentry.image.name=ghcr.io/trustplane/sentry:0.1.0",
		"--set-file", "dapr_sentry.tls.root.certPEM="+ca.root,
		"--set-file", "dapr_sentry.tls.issuer.certPEM="+ca.cert,
		"--set-file", "dapr_sentry.tls.issuer.keyPEM="+ca.key)
	sp := c.runDeployment(t, ns, "dapr-sentry")
	sp.takePortFlags(t, map[string]string{"--metrics-port": "metrics"})
	id := spiffeid.RequireFromString("spiffe://cluster.local/ns/" + ns + "/dapr-sentry")
	sentry := sentryproc.Start(t, sentryBin, sentryproc.Options{Args: append(sp.args, "--kubeconfig", sp.kubeconfig), Env: sp.env, ID: id})

	c.appNamespace(t)
	pod := c.appPod(t, "", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders"})
	anchors := readFile(t, ca.root)
	leaf, err := sign(t, sentry, anchors, c.token(t, pod, nil, id.String()), "orders")
	require.NoError(t, err)
	block, _ := pem.Decode(readFile(t, ca.cert))
	issuer, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.NoError(t, leaf.CheckSignatureFrom(issuer), "signed by the brought issuer")
	s, err := c.client.CoreV1().Secrets(ns).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, string(readFile(t, ca.key)), string(s.Data["issuer.key"]), "the user's key is never replaced")
}

// appNamespace creates appNS with the ServiceAccount its pods run as.
func (c *cluster) appNamespace(t *testing.T) {
	t.Helper()
	c.namespace(t, appNS)
	_, err := c.client.CoreV1().ServiceAccounts(appNS).Create(cctx(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "orders"}}, metav1.CreateOptions{})
	require.NoError(t, err)
}
