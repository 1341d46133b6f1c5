package injector

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/envtest"
	"github.com/trustplane/trustplane/test/injectorproc"
	"github.com/trustplane/trustplane/test/sentryproc"
)

const (
	controlPlaneNS = "dapr-system"
	bundleName     = "dapr-trust-bundle"
	sentryID       = "spiffe://cluster.local/ns/dapr-system/dapr-sentry"
	webhookName    = "dapr-sidecar-injector"
	sidecarImage   = "ghcr.io/dapr/daprd:test"
)

// icluster is a prepared apiserver with this package's helpers.
type icluster struct{ *cluster.Cluster }

func newCluster(t *testing.T) *icluster { return &icluster{cluster.New(t)} }

func cctx(t *testing.T) context.Context { return cluster.Context(t) }

// startSentry runs the real sentry in Kubernetes mode as dapr-sentry.
func (c *icluster) startSentry(t *testing.T) *sentryproc.Proc {
	t.Helper()
	return sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "kubernetes", "--kubeconfig", c.Kubeconfig(t, "dapr-sentry"), "--trust-domain", "cluster.local"},
		Env:  []string{"NAMESPACE=" + controlPlaneNS},
		ID:   spiffeIDOf(t, sentryID),
	})
}

// injectorToken plays the kubelet: a pod of the injector's Deployment (the
// dapr.io/control-plane annotation tells Sentry what it is) and a token
// bound to it with Sentry's ID as audience, in a file.
func (c *icluster) injectorToken(t *testing.T, podName string) string {
	t.Helper()
	token, _ := c.PodToken(t, controlPlaneNS, "dapr-injector", podName, map[string]string{"dapr.io/control-plane": "injector"}, sentryID)
	return cluster.TokenFile(t, token)
}

// registerWebhook creates config/webhook/mutating.yaml as shipped except
// for the Service port, and the Service it names as an ExternalName of
// 127.0.0.1: the API server then dials the injector on 127.0.0.1:port while
// checking its certificate against the name the production Service has,
// dapr-sidecar-injector.dapr-system.svc (the DNS SAN Sentry issues).
func (c *icluster) registerWebhook(t *testing.T, port int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), "config", "webhook", "mutating.yaml"))
	require.NoError(t, err)
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	require.NoError(t, yaml.UnmarshalStrict(data, &mwc))
	require.Len(t, mwc.Webhooks, 1)
	require.NotNil(t, mwc.Webhooks[0].ClientConfig.Service)
	require.Empty(t, mwc.Webhooks[0].ClientConfig.CABundle, "the shipped caBundle is left to the injector")
	mwc.Webhooks[0].ClientConfig.Service.Port = ptr.To(int32(port))
	_, err = c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(cctx(t), &mwc, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.CoreV1().Services(controlPlaneNS).Create(cctx(t), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: mwc.Webhooks[0].ClientConfig.Service.Name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// startInjector runs the real injector as dapr-injector, reading the
// anchors from the ConfigMap (nothing is mounted outside a pod).
func (c *icluster) startInjector(t *testing.T, sentry *sentryproc.Proc, port int, extra ...string) *injectorproc.Proc {
	t.Helper()
	return injectorproc.Start(t, injectorBin, port, injectorproc.Options{
		Args: append([]string{
			"--kubeconfig", c.Kubeconfig(t, "dapr-injector"),
			"--sentry-address", sentry.GRPCAddr,
			"--token-file", c.injectorToken(t, "dapr-sidecar-injector-xyz"),
			"--trust-anchors-configmap", bundleName,
		}, extra...),
		Env: []string{"NAMESPACE=" + controlPlaneNS, "SIDECAR_IMAGE=" + sidecarImage, "DAPR_CONTROL_PLANE_TRUST_DOMAIN=cluster.local"},
	})
}

func (c *icluster) caBundle(t *testing.T) []byte {
	t.Helper()
	mwc, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(cctx(t), webhookName, metav1.GetOptions{})
	require.NoError(t, err)
	return mwc.Webhooks[0].ClientConfig.CABundle
}

// configuration creates or updates daprsystem with spec.mtls.enabled.
func (c *icluster) configuration(t *testing.T, mtls bool) {
	t.Helper()
	c.ApplyConfiguration(t, controlPlaneNS, "daprsystem", map[string]any{"mtls": map[string]any{"enabled": mtls, "workloadCertTTL": "24h", "allowedClockSkew": "15m"}})
}
