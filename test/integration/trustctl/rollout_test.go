package trustctl

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/pkg/trustctl/restart"
	"github.com/trustplane/trustplane/test/testca"
)

// statefulSet creates a one-replica StatefulSet name in ns.
func (c *cluster) statefulSet(t *testing.T, ns, name string) {
	t.Helper()
	sel, tmpl := podTemplate(name)
	_, err := c.kube.AppsV1().StatefulSets(ns).Create(cctx(t), &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), Selector: sel, Template: tmpl},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// rollOut plays the Deployment, StatefulSet and DaemonSet controllers
// envtest does not run: until the test ends, every workload of ns ("": all
// namespaces) whose generation is ahead of its status is reported rolled
// out, after lag (the time real pods take to come up) from the moment it
// first sees each new generation.
func (c *cluster) rollOut(t *testing.T, ns string, lag time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	t.Cleanup(func() { cancel(); <-stopped })
	go func() {
		defer close(stopped)
		seen := map[string]time.Time{}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		due := func(name string, gen, observed int64) bool {
			if gen <= observed {
				return false
			}
			key := fmt.Sprintf("%s/%d", name, gen)
			if _, ok := seen[key]; !ok {
				seen[key] = time.Now()
			}
			return time.Since(seen[key]) >= lag
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if ds, err := c.kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err == nil {
				for _, d := range ds.Items {
					if !due("d/"+d.Namespace+"/"+d.Name, d.Generation, d.Status.ObservedGeneration) {
						continue
					}
					n := *d.Spec.Replicas
					d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
					_, _ = c.kube.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, &d, metav1.UpdateOptions{})
				}
			}
			if ss, err := c.kube.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{}); err == nil {
				for _, s := range ss.Items {
					if !due("s/"+s.Namespace+"/"+s.Name, s.Generation, s.Status.ObservedGeneration) {
						continue
					}
					n, rev := *s.Spec.Replicas, s.Name+"-"+s.ResourceVersion
					s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: n, ReadyReplicas: n, CurrentReplicas: n,
						UpdatedReplicas: n, AvailableReplicas: n, CurrentRevision: rev, UpdateRevision: rev}
					_, _ = c.kube.AppsV1().StatefulSets(s.Namespace).UpdateStatus(ctx, &s, metav1.UpdateOptions{})
				}
			}
			if dss, err := c.kube.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{}); err == nil {
				for _, d := range dss.Items {
					if !due("ds/"+d.Namespace+"/"+d.Name, d.Generation, d.Status.ObservedGeneration) {
						continue
					}
					d.Status = appsv1.DaemonSetStatus{ObservedGeneration: d.Generation, DesiredNumberScheduled: 2, CurrentNumberScheduled: 2,
						UpdatedNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2}
					_, _ = c.kube.AppsV1().DaemonSets(d.Namespace).UpdateStatus(ctx, &d, metav1.UpdateOptions{})
				}
			}
		}
	}()
}

func TestRenewWithRestartWaitsForTheRollouts(t *testing.T) {
	c := newCluster(t)

	t.Run("it reports success once every restarted workload has rolled out", func(t *testing.T) {
		c.setup(t, "rollout", install{ca: testca.NewRoot(t).Issuer(t)})
		c.deployment(t, "rollout", "dapr-sentry")
		c.statefulSet(t, "rollout", "dapr-placement-server")
		c.rollOut(t, "rollout", 3*time.Second)

		start := time.Now()
		r := c.run(t, "mtls", "rnc", "-n", "rollout", "--restart")
		require.Equal(t, app.ExitOK, r.code, r.stderr)
		assert.GreaterOrEqual(t, time.Since(start), 3*time.Second, "trustctl waited for the rollouts")
		assert.Contains(t, r.stdout, "Waiting for deployment/dapr-sentry: waiting for the deployment spec update to be observed")
		assert.Contains(t, r.stdout, "deployment/dapr-sentry restarted: successfully rolled out")
		assert.Contains(t, r.stdout, "statefulset/dapr-placement-server restarted: rolling update complete: 1 pods at revision")
		assert.Contains(t, r.stdout, "All control plane services have restarted successfully!")
		c.assertPublished(t, "rollout")
	})

	t.Run("a rollout that does not finish in --timeout fails and names it, the new bundle stays", func(t *testing.T) {
		c.setup(t, "stuck", install{ca: testca.NewRoot(t).Issuer(t)})
		c.deployment(t, "stuck", "dapr-sentry")
		r := c.run(t, "mtls", "rnc", "-n", "stuck", "--restart", "--timeout", "3")
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, "the certificates were rotated, but restarting the control plane failed")
		assert.Contains(t, r.stderr, "timed out waiting for the rollout in namespace stuck of deployment/dapr-sentry (waiting for the deployment spec update to be observed)")
		assert.NotContains(t, r.stdout, "restarted successfully")
		c.assertPublished(t, "stuck")
	})

	t.Run("--restart-apps then restarts every workload running daprd, in every namespace, and waits", func(t *testing.T) {
		c.setup(t, "apps-cp", install{ca: testca.NewRoot(t).Issuer(t)})
		c.deployment(t, "apps-cp", "dapr-sentry")
		for _, ns := range []string{"apps-a", "apps-b"} {
			_, err := c.kube.CoreV1().Namespaces().Create(cctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			require.NoError(t, err)
		}
		dapr := func(name string) (*metav1.LabelSelector, corev1.PodTemplateSpec) {
			sel, tmpl := podTemplate(name)
			tmpl.Annotations = map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": name}
			return sel, tmpl
		}
		sel, tmpl := dapr("orders")
		_, err := c.kube.AppsV1().Deployments("apps-a").Create(cctx(t), &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "orders"}, Spec: appsv1.DeploymentSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		require.NoError(t, err)
		c.deployment(t, "apps-a", "plain")
		sel, tmpl = dapr("agent")
		_, err = c.kube.AppsV1().DaemonSets("apps-b").Create(cctx(t), &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Name: "agent"}, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		require.NoError(t, err)
		c.rollOut(t, metav1.NamespaceAll, 500*time.Millisecond)

		r := c.run(t, "mtls", "rnc", "-n", "apps-cp", "--restart", "--restart-apps")
		require.Equal(t, app.ExitOK, r.code, r.stderr)
		for _, want := range []string{
			"All control plane services have restarted successfully!",
			"Restarting deployment/orders -n apps-a..", "Restarting daemonset/agent -n apps-b..",
			"deployment/orders -n apps-a restarted: successfully rolled out",
			"daemonset/agent -n apps-b restarted: successfully rolled out",
			"All Dapr applications have restarted successfully!",
		} {
			assert.Contains(t, r.stdout, want)
		}
		assert.Less(t, strings.Index(r.stdout, "All control plane services"), strings.Index(r.stdout, "Restarting deployment/orders"),
			"applications restart after the control plane is back")
		assert.NotContains(t, r.stdout, "plain", "a workload without daprd is left alone")
		plain, err := c.kube.AppsV1().Deployments("apps-a").Get(cctx(t), "plain", metav1.GetOptions{})
		require.NoError(t, err)
		assert.NotContains(t, plain.Spec.Template.Annotations, restart.AnnotationRestartedAt)
	})

	t.Run("--restart-apps without --restart is a usage error", func(t *testing.T) {
		r := c.run(t, "mtls", "rnc", "-n", "nowhere", "--restart-apps")
		assert.Equal(t, app.ExitUsage, r.code)
		assert.Contains(t, r.stderr, "--restart-apps needs --restart")
	})

	t.Run("--timeout 0 asks for the restarts and does not wait", func(t *testing.T) {
		c.setup(t, "nowait", install{ca: testca.NewRoot(t).Issuer(t)})
		c.deployment(t, "nowait", "dapr-sentry")
		r := c.run(t, "mtls", "rnc", "-n", "nowait", "--restart", "--timeout", "0")
		require.Equal(t, app.ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "All control plane services were asked to restart; follow them with kubectl rollout status.")
		assert.NotContains(t, r.stdout, "Waiting for")
	})
}
