package injector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/injectorproc"
)

// The injector parses input from every pod create and must not be able to
// mint identities: with config/rbac (which the chart ships, see
// test/e2e's TestChartMatchesConfig) it cannot read the dapr-trust-bundle
// Secret, whose issuer.key signs any SVID. The missing-token-Secret check
// works only in the app namespaces that bind dapr-injector-token-secrets.

func TestInjectorCannotReadTheCAKey(t *testing.T) {
	c := newCluster(t)
	c.EmptyTrustBundle(t)
	c.Namespace(t, "shop")
	c.Namespace(t, "other")
	canGet := func(ns, name string) bool {
		return c.CanI(t, cluster.InjectorServiceAccount, "get", "secrets", ns, name)
	}

	// kubectl auth can-i get secret/dapr-trust-bundle -n dapr-system --as=system:serviceaccount:dapr-system:dapr-injector
	assert.False(t, canGet(controlPlaneNS, bundleName), "the injector cannot read the CA key")
	assert.False(t, canGet(controlPlaneNS, ""), "nor any Secret of the control plane")
	assert.False(t, canGet("shop", "api-token"), "nor, by default, an app's Secrets")

	c.AllowTokenSecretCheck(t, "shop")
	assert.True(t, canGet("shop", "api-token"), "a namespace that binds dapr-injector-token-secrets turns the check on there")
	assert.False(t, canGet("other", "api-token"), "and there only")
	assert.False(t, canGet(controlPlaneNS, bundleName), "the CA key stays out of reach")

	t.Run("the check denies in a namespace that allows it and warns in one that does not", func(t *testing.T) {
		sentry := c.startSentry(t)
		c.Anchors(t)
		port := injectorproc.FreePort(t)
		c.registerWebhook(t, port)
		inj := c.startInjector(t, sentry, port)
		client, seen := c.warningClient(t)
		pod := func(name string) *corev1.Pod {
			return appPod(name, map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders", "dapr.io/api-token-secret": "missing"})
		}
		_, err := client.CoreV1().Pods("shop").Create(cctx(t), pod("orders-1"), metav1.CreateOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), `Secret "missing" not found in namespace "shop"`)
		created, err := client.CoreV1().Pods("other").Create(cctx(t), pod("orders-1"), metav1.CreateOptions{})
		require.NoError(t, err)
		assert.NotNil(t, containerNamed(created, "daprd"))
		assert.Contains(t, seen.all(), `could not verify dapr.io/api-token-secret Secret missing: the sidecar will not start until it exists with key "token"`)
		logs := inj.Logs.String()
		assert.Contains(t, logs, "The token Secret check is off in every namespace that does not allow it")
		assert.NotContains(t, logs, "The injector can read the CA key")
		assert.NotContains(t, logs, "Re-checking the webhook caBundle", "config/rbac allows the watch")
		assert.NotContains(t, logs, "Polling the Configuration")
	})
}
