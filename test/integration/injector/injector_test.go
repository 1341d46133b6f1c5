package injector

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/injectorproc"
)

const requestsMetric = "dapr_injector_sidecar_injection_requests_total"

func spiffeIDOf(t *testing.T, s string) spiffeid.ID {
	t.Helper()
	id, err := spiffeid.FromString(s)
	require.NoError(t, err)
	return id
}

// appPod is a pod as a controller creates it. envtest runs without the
// ServiceAccount admission plugin, which would set serviceAccountName.
func appPod(name string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec: corev1.PodSpec{
			ServiceAccountName: "default",
			Containers:         []corev1.Container{{Name: "app", Image: "app:1"}},
		},
	}
}

func containerNamed(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

func envNamed(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func TestInjectorServesWithASentryCertificateAndInjectsOptedInPods(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	sentry := c.startSentry(t)
	anchors := c.Anchors(t)
	port := injectorproc.FreePort(t)
	c.registerWebhook(t, port)
	inj := c.startInjector(t, sentry, port)
	t.Logf("control plane ready in %s", time.Since(start).Round(time.Millisecond))

	require.Eventually(t, func() bool { return string(c.caBundle(t)) == string(anchors) }, 30*time.Second, 100*time.Millisecond,
		"the caBundle converges to the trust anchors")
	assert.Contains(t, inj.Logs.String(), "spiffe://cluster.local/ns/dapr-system/dapr-injector", "the serving identity comes from Sentry")

	c.Namespace(t, "shop")
	c.AllowTokenSecretCheck(t, "shop") // the token Secret check is per namespace (config/rbac/injector.yaml)
	for _, name := range []string{"dapr-api-token", "app-api-token"} {
		_, err := c.Client.CoreV1().Secrets("shop").Create(cctx(t), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"token": []byte("s3cret-" + name)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	pods := c.Client.CoreV1().Pods("shop")

	t.Run("an annotated pod is stored with the sidecar, its token Secrets and the Sentry token volume", func(t *testing.T) {
		created, err := pods.Create(cctx(t), appPod("orders-1", map[string]string{
			"dapr.io/enabled": "true", "dapr.io/app-id": "orders",
			"dapr.io/api-token-secret": "dapr-api-token", "dapr.io/app-token-secret": "app-api-token",
		}), metav1.CreateOptions{})
		require.NoError(t, err)
		stored, err := pods.Get(cctx(t), created.Name, metav1.GetOptions{})
		require.NoError(t, err)
		daprd := containerNamed(stored, "daprd")
		require.NotNil(t, daprd, "daprd is in the stored pod")
		assert.Equal(t, sidecarImage, daprd.Image)
		for env, secret := range map[string]string{"DAPR_API_TOKEN": "dapr-api-token", "APP_API_TOKEN": "app-api-token"} {
			e := envNamed(daprd, env)
			require.NotNil(t, e, env)
			require.NotNil(t, e.ValueFrom, env)
			require.NotNil(t, e.ValueFrom.SecretKeyRef, env)
			assert.Equal(t, secret, e.ValueFrom.SecretKeyRef.Name, env)
			assert.Equal(t, "token", e.ValueFrom.SecretKeyRef.Key, env)
		}
		anchorsEnv := envNamed(daprd, "DAPR_TRUST_ANCHORS")
		require.NotNil(t, anchorsEnv)
		assert.Equal(t, string(anchors), anchorsEnv.Value, "the sidecar gets the current anchors")
		var audience string
		for _, v := range stored.Spec.Volumes {
			if v.Name == "dapr-identity-token" && v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.ServiceAccountToken != nil {
						audience = s.ServiceAccountToken.Audience
					}
				}
			}
		}
		assert.Equal(t, sentryID, audience, "the Sentry token volume has Sentry's ID as audience")
	})

	t.Run("a truthy value in another letter case opts in too", func(t *testing.T) {
		created, err := pods.Create(cctx(t), appPod("orders-2", map[string]string{"dapr.io/enabled": " Yes ", "dapr.io/app-id": "orders"}), metav1.CreateOptions{})
		require.NoError(t, err)
		assert.NotNil(t, containerNamed(created, "daprd"))
	})

	t.Run("a native sidecar is stored as an init container that restarts always", func(t *testing.T) {
		pod := appPod("report-1", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "report", "dapr.io/enable-native-sidecar": "true"})
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		created, err := pods.Create(cctx(t), pod, metav1.CreateOptions{})
		require.NoError(t, err, "the apiserver accepts the sidecar container")
		assert.Nil(t, containerNamed(created, "daprd"))
		require.Len(t, created.Spec.InitContainers, 1)
		daprd := created.Spec.InitContainers[0]
		assert.Equal(t, "daprd", daprd.Name)
		require.NotNil(t, daprd.RestartPolicy)
		assert.Equal(t, corev1.ContainerRestartPolicyAlways, *daprd.RestartPolicy)
		assert.NotNil(t, daprd.ReadinessProbe, "sidecar containers keep their probes")
	})

	t.Run("a pod naming a missing token Secret is denied with the reason", func(t *testing.T) {
		_, err := pods.Create(cctx(t), appPod("orders-3", map[string]string{
			"dapr.io/enabled": "true", "dapr.io/app-id": "orders", "dapr.io/api-token-secret": "missing",
		}), metav1.CreateOptions{})
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) || strings.Contains(err.Error(), "denied"), "%v", err)
		assert.Contains(t, err.Error(), `Secret "missing" not found`)
		_, err = pods.Get(cctx(t), "orders-3", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the pod was not stored")
	})

	t.Run("pods that did not opt in never reach the webhook and are stored untouched", func(t *testing.T) {
		before := inj.Counter(t, requestsMetric)
		require.Positive(t, before, "the opted-in pods above were counted")
		for name, annotations := range map[string]map[string]string{
			"plain":    nil,
			"disabled": {"dapr.io/enabled": "false"},
			"other":    {"example.com/enabled": "true"},
		} {
			created, err := pods.Create(cctx(t), appPod(name, annotations), metav1.CreateOptions{})
			require.NoError(t, err, name)
			assert.Len(t, created.Spec.Containers, 1, name)
		}
		assert.Equal(t, before, inj.Counter(t, requestsMetric), "the injector saw no request")
	})

	t.Run("a caBundle someone else resets is put back", func(t *testing.T) {
		mwc, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(cctx(t), webhookName, metav1.GetOptions{})
		require.NoError(t, err)
		mwc.Webhooks[0].ClientConfig.CABundle = []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
		_, err = c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(cctx(t), mwc, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return string(c.caBundle(t)) == string(anchors) }, 30*time.Second, 100*time.Millisecond)
	})

	t.Run("daprsystem's mtls.enabled is followed live", func(t *testing.T) {
		// The API server reloads a webhook's caBundle (put back by the last
		// subtest) a moment after it changes: retry until it has.
		var created *corev1.Pod
		require.Eventually(t, func() bool {
			var err error
			created, err = pods.Create(cctx(t), appPod("mtls-on", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders"}), metav1.CreateOptions{})
			if err != nil {
				t.Logf("create pod: %v", err)
			}
			return err == nil
		}, 30*time.Second, 200*time.Millisecond)
		assert.Contains(t, containerNamed(created, "daprd").Args, "--enable-mtls", "mTLS is on without a Configuration")
		c.configuration(t, false)
		require.Eventually(t, func() bool {
			pod := appPod("", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders"})
			pod.GenerateName = "mtls-off-"
			p, err := pods.Create(cctx(t), pod, metav1.CreateOptions{})
			if err != nil {
				t.Logf("create pod: %v", err)
				return false
			}
			return !slices.Contains(containerNamed(p, "daprd").Args, "--enable-mtls")
		}, 20*time.Second, 200*time.Millisecond, "a pod created after the edit gets mTLS off")
	})

	t.Run("an injector reading the mounted anchors file gets ready too", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "ca.crt")
		require.NoError(t, os.WriteFile(file, anchors, 0o600))
		second := injectorproc.Start(t, injectorBin, 0, injectorproc.Options{
			Args: []string{
				"--kubeconfig", c.Kubeconfig(t, "dapr-injector"), "--sentry-address", sentry.GRPCAddr,
				"--token-file", c.injectorToken(t, "dapr-sidecar-injector-abc"), "--trust-anchors-file", file,
			},
			Env: []string{"NAMESPACE=" + controlPlaneNS, "SIDECAR_IMAGE=" + sidecarImage},
		})
		assert.Contains(t, second.Logs.String(), "Workload identity issued")
	})

	t.Run("dapr.io/inject-pluggable-components", func(t *testing.T) { testDeclaredComponents(t, c) })

	t.Run("control-plane pods are excluded by the namespace selector", func(t *testing.T) {
		before := inj.Counter(t, requestsMetric)
		created, err := c.Client.CoreV1().Pods(controlPlaneNS).Create(cctx(t),
			appPod("dapr-operator-1", map[string]string{"dapr.io/enabled": "true"}), metav1.CreateOptions{})
		require.NoError(t, err)
		assert.Len(t, created.Spec.Containers, 1)
		assert.Equal(t, before, inj.Counter(t, requestsMetric))
	})
}
