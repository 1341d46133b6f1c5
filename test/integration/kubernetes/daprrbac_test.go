package kubernetes

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

// daprChartArgs are the arguments Dapr v1.18.3's chart passes to Sentry
// with its default values (charts/dapr/charts/dapr_sentry/templates/
// dapr_sentry_deployment.yaml): all of them but "--metrics-port 9090",
// for which the harness passes a free port. --kubeconfig stands in for the
// in-cluster configuration.
var daprChartArgs = []string{
	"--mode", "kubernetes",
	"--log-level", "info",
	"--enable-metrics",
	"--trust-domain", "cluster.local",
}

// The warnings Sentry logs, once each, under Dapr's RBAC: one per feature
// that needs more than Dapr grants (cmd/sentry/app/rbac_test.go has their
// whole text).
var daprRBACWarnings = []string{
	"Polling the trust bundle Secret instead of watching it: RBAC does not allow list, watch on secrets named dapr-trust-bundle in namespace dapr-system;",
	"Kubernetes Events are off: RBAC does not allow create, patch on events in namespace dapr-system;",
	"Trust anchors are not published to app namespaces: RBAC does not allow list, watch, update on configmaps named dapr-trust-bundle cluster-wide; create on configmaps cluster-wide;",
}

func TestSentryRunsWithDaprsRBAC(t *testing.T) {
	c := &kcluster{cluster.New(t, cluster.Options{SentryRBAC: cluster.DaprRBAC})}
	c.EmptyTrustBundle(t)
	p := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: append(append([]string(nil), daprChartArgs...), "--kubeconfig", c.Kubeconfig(t, "dapr-sentry")),
		Env:  []string{"NAMESPACE=" + sentryNS},
		ID:   mustID(sentryID),
	})

	s := c.secret(t)
	for _, k := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		assert.NotEmpty(t, s.Data[k], "Sentry filled the chart's empty Secret with %s", k)
	}
	anchors := c.Anchors(t)
	assert.Equal(t, string(s.Data["ca.crt"]), string(anchors), "the chart's empty ConfigMap publishes the Secret's roots")

	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-1", map[string]string{"dapr.io/app-id": "orders", "dapr.io/enabled": "true"}, sentryID)
	resp, err := sign(t, p.Client(t, anchors), token, "shop", "orders")
	require.NoError(t, err)
	leaf, _ := leafOf(t, resp)
	assert.Equal(t, "spiffe://public/ns/shop/orders", leaf.URIs[0].String())

	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		code, body := p.Readyz()
		require.Equal(t, http.StatusOK, code, "Sentry stays ready: %s", body)
		healthz, err := http.Get("http://" + p.HealthAddr + "/healthz") // Dapr's chart probes it
		require.NoError(t, err)
		_ = healthz.Body.Close()
		require.Equal(t, http.StatusOK, healthz.StatusCode)
	}
	_, err = c.Client.CoreV1().ConfigMaps("shop").Get(cctx(t), bundleName, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no anchors ConfigMap in an app namespace, which Dapr's RBAC does not allow: %v", err)

	t.Run("a new bundle in the Secret is read by polling it", func(t *testing.T) {
		root := testca.NewRoot(t)
		issuer := root.Issuer(t)
		s := c.secret(t)
		s.Data = map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": issuer.CertPEM(), "issuer.key": issuer.KeyPEM(t)}
		_, err := c.Client.CoreV1().Secrets(sentryNS).Update(cctx(t), s, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return string(c.Anchors(t)) == string(root.CertPEM()) }, 30*time.Second, 200*time.Millisecond,
			"the ConfigMap Sentry published follows the Secret")
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			resp, err := sign(t, p.Client(t, root.CertPEM()), token, "shop", "orders")
			require.NoError(ct, err)
			_, chain := leafOf(t, resp)
			assert.Equal(ct, issuer.Cert.Raw, chain[0].Raw, "signed by the new issuer")
		}, 20*time.Second, 500*time.Millisecond)
	})

	lines := strings.Split(p.Logs.String(), "\n")
	for _, w := range daprRBACWarnings {
		var found []string
		for _, l := range lines {
			if strings.Contains(l, w) {
				found = append(found, l)
			}
		}
		if assert.Len(t, found, 1, "warned once: %q", w) {
			assert.Contains(t, found[0], "\twarning\t")
			t.Log(found[0])
		}
	}
	for _, l := range lines {
		assert.NotContains(t, strings.ToLower(l), "forbidden", "no request was refused")
		assert.NotContains(t, l, "\terror\t", "no error was logged")
	}
}

func TestSentryWithItsOwnRBACTurnsNothingOff(t *testing.T) {
	c := newCluster(t)
	c.EmptyTrustBundle(t)
	p := sentryproc.Start(t, sentryBin, c.sentryOptions(t))
	c.Namespace(t, "shop")
	c.PodToken(t, "shop", "orders-sa", "orders-1", map[string]string{"dapr.io/app-id": "orders", "dapr.io/enabled": "true"}, sentryID)
	require.Eventually(t, func() bool {
		cm, err := c.Client.CoreV1().ConfigMaps("shop").Get(cctx(t), bundleName, metav1.GetOptions{})
		return err == nil && cm.Data["ca.crt"] == string(c.Anchors(t))
	}, 30*time.Second, 100*time.Millisecond, "the anchors ConfigMap is published to the app namespace")
	logs := p.Logs.String()
	assert.NotContains(t, logs, "RBAC does not allow", "nothing is turned off under config/rbac/sentry.yaml")
	assert.NotContains(t, strings.ToLower(logs), "forbidden")
}
