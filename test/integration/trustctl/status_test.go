package trustctl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/test/testca"
)

// trustctl status -k does what `dapr status -k` does: the control-plane
// services with their health, then Dapr's certificate-expiry warning.
func TestStatusShowsTheControlPlaneAndWarnsOfExpiry(t *testing.T) {
	c := newCluster(t)
	c.setup(t, "dapr-system", install{ca: testca.NewRoot(t, testca.WithLifetime(10*24*time.Hour)).Issuer(t)})
	pods := c.kube.CoreV1().Pods("dapr-system")
	pod := func(name, app, image string, ready bool) {
		p, err := pods.Create(cctx(t), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		cond := corev1.ConditionFalse
		if ready {
			cond = corev1.ConditionTrue
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}}}
		_, err = pods.UpdateStatus(cctx(t), p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	pod("dapr-sentry-1", "dapr-sentry", "ghcr.io/trustplane/sentry:0.4.0", true)
	pod("dapr-sentry-2", "dapr-sentry", "ghcr.io/trustplane/sentry:0.4.0", true)
	pod("dapr-placement-server-0", "dapr-placement-server", "ghcr.io/dapr/placement:1.18.3", false)
	pod("orders-1", "orders", "orders:1", true)

	r := c.run(t, "status", "-k")
	require.Equal(t, app.ExitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^\s+NAME\s+NAMESPACE\s+HEALTHY\s+STATUS\s+REPLICAS\s+VERSION\s+AGE\s+CREATED$`, r.stdout)
	assert.Regexp(t, `(?m)^\s+dapr-sentry\s+dapr-system\s+True\s+Running\s+2\s+0\.4\.0\s+\S+\s+\d{4}-\d\d-\d\d \d\d:\d\d\.\d\d$`, r.stdout)
	assert.Regexp(t, `(?m)^\s+dapr-placement-server\s+dapr-system\s+False\s+Running\s+1\s+1\.18\.3\s`, r.stdout, "a pod that is not ready is not healthy")
	assert.NotContains(t, r.stdout, "orders", "only control-plane services")
	assert.Regexp(t, `⚠  Dapr root certificate of your Kubernetes cluster expires in (9|10) days\. Expiry date: `, r.stdout,
		"Dapr's expiry warning, on the standard output like Dapr's")
}
