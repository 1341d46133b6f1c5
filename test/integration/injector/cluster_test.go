package injector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

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

// cluster is a real apiserver with the Configuration CRD, the control-plane
// namespace and the RBAC of config/rbac for Sentry and the injector.
type cluster struct {
	env    *envtest.Env
	client kubernetes.Interface
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	env := envtest.Start(t, envtest.Options{CRDDirectoryPaths: []string{filepath.Join(envtest.RepoRoot(), "config", "crd", "bases")}})
	c := &cluster{env: env, client: kubernetes.NewForConfigOrDie(env.Config)}
	c.namespace(t, controlPlaneNS)
	for _, sa := range []string{"dapr-sentry", "dapr-injector"} {
		_, err := c.client.CoreV1().ServiceAccounts(controlPlaneNS).Create(cctx(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	c.applyRBAC(t, "sentry.yaml")
	c.applyRBAC(t, "injector.yaml")
	return c
}

func cctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (c *cluster) namespace(t *testing.T, name string) {
	t.Helper()
	_, err := c.client.CoreV1().Namespaces().Create(cctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// applyRBAC creates the roles and bindings of config/rbac/<file>.
func (c *cluster) applyRBAC(t *testing.T, file string) {
	t.Helper()
	ctx := cctx(t)
	data, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), "config", "rbac", file))
	require.NoError(t, err)
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var meta metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.client.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{})
		case "ClusterRoleBinding":
			var r rbacv1.ClusterRoleBinding
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.client.RbacV1().ClusterRoleBindings().Create(ctx, &r, metav1.CreateOptions{})
		case "Role":
			var r rbacv1.Role
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.client.RbacV1().Roles(r.Namespace).Create(ctx, &r, metav1.CreateOptions{})
		case "RoleBinding":
			var r rbacv1.RoleBinding
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.client.RbacV1().RoleBindings(r.Namespace).Create(ctx, &r, metav1.CreateOptions{})
		default:
			t.Fatalf("unexpected kind %q in config/rbac/%s", meta.Kind, file)
		}
		require.NoError(t, err, "%s in %s", meta.Kind, file)
	}
}

// kubeconfig authenticates as ServiceAccount sa of the control-plane
// namespace with a token: the process gets exactly that account's RBAC.
func (c *cluster) kubeconfig(t *testing.T, sa string) string {
	t.Helper()
	tr, err := c.client.CoreV1().ServiceAccounts(controlPlaneNS).CreateToken(cctx(t), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.env.Config.Host, CertificateAuthorityData: c.env.Config.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[sa] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: sa}
	cfg.CurrentContext = sa
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// startSentry runs the real sentry in Kubernetes mode as dapr-sentry.
func (c *cluster) startSentry(t *testing.T) *sentryproc.Proc {
	t.Helper()
	return sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "kubernetes", "--kubeconfig", c.kubeconfig(t, "dapr-sentry"), "--trust-domain", "cluster.local"},
		Env:  []string{"NAMESPACE=" + controlPlaneNS},
		ID:   spiffeIDOf(t, sentryID),
	})
}

// anchors waits for the roots Sentry publishes.
func (c *cluster) anchors(t *testing.T) []byte {
	t.Helper()
	var data []byte
	require.Eventually(t, func() bool {
		cm, err := c.client.CoreV1().ConfigMaps(controlPlaneNS).Get(cctx(t), bundleName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		data = []byte(cm.Data["ca.crt"])
		return len(data) > 0
	}, 30*time.Second, 50*time.Millisecond, "the anchors ConfigMap is published")
	return data
}

// injectorToken plays the kubelet: a pod of the injector's Deployment (the
// dapr.io/control-plane annotation tells Sentry what it is) and a token
// bound to it with Sentry's ID as audience, in a file.
func (c *cluster) injectorToken(t *testing.T, podName string) string {
	t.Helper()
	pod, err := c.client.CoreV1().Pods(controlPlaneNS).Create(cctx(t), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName, Annotations: map[string]string{"dapr.io/control-plane": "injector"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "dapr-injector",
			Containers:         []corev1.Container{{Name: "dapr-sidecar-injector", Image: "injector:test"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	tr, err := c.client.CoreV1().ServiceAccounts(controlPlaneNS).CreateToken(cctx(t), "dapr-injector", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         []string{sentryID},
			ExpirationSeconds: ptr.To[int64](600),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(path, []byte(tr.Status.Token), 0o600))
	return path
}

// registerWebhook creates config/webhook/mutating.yaml as shipped except
// for the Service port, and the Service it names as an ExternalName of
// 127.0.0.1: the API server then dials the injector on 127.0.0.1:port while
// checking its certificate against the name the production Service has,
// dapr-sidecar-injector.dapr-system.svc (the DNS SAN Sentry issues).
func (c *cluster) registerWebhook(t *testing.T, port int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), "config", "webhook", "mutating.yaml"))
	require.NoError(t, err)
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	require.NoError(t, yaml.UnmarshalStrict(data, &mwc))
	require.Len(t, mwc.Webhooks, 1)
	require.NotNil(t, mwc.Webhooks[0].ClientConfig.Service)
	require.Empty(t, mwc.Webhooks[0].ClientConfig.CABundle, "the shipped caBundle is left to the injector")
	mwc.Webhooks[0].ClientConfig.Service.Port = ptr.To(int32(port))
	_, err = c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(cctx(t), &mwc, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.client.CoreV1().Services(controlPlaneNS).Create(cctx(t), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: mwc.Webhooks[0].ClientConfig.Service.Name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// startInjector runs the real injector as dapr-injector, reading the
// anchors from the ConfigMap (nothing is mounted outside a pod).
func (c *cluster) startInjector(t *testing.T, sentry *sentryproc.Proc, port int, extra ...string) *injectorproc.Proc {
	t.Helper()
	return injectorproc.Start(t, injectorBin, port, injectorproc.Options{
		Args: append([]string{
			"--kubeconfig", c.kubeconfig(t, "dapr-injector"),
			"--sentry-address", sentry.GRPCAddr,
			"--token-file", c.injectorToken(t, "dapr-sidecar-injector-xyz"),
			"--trust-anchors-configmap", bundleName,
		}, extra...),
		Env: []string{"NAMESPACE=" + controlPlaneNS, "SIDECAR_IMAGE=" + sidecarImage, "DAPR_CONTROL_PLANE_TRUST_DOMAIN=cluster.local"},
	})
}

func (c *cluster) caBundle(t *testing.T) []byte {
	t.Helper()
	mwc, err := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(cctx(t), webhookName, metav1.GetOptions{})
	require.NoError(t, err)
	return mwc.Webhooks[0].ClientConfig.CABundle
}

var configurations = schema.GroupVersionResource{Group: "dapr.io", Version: "v1alpha1", Resource: "configurations"}

// configuration creates or updates daprsystem with spec.mtls.enabled.
func (c *cluster) configuration(t *testing.T, mtls bool) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(c.env.Config).Resource(configurations).Namespace(controlPlaneNS)
	spec := map[string]any{"mtls": map[string]any{"enabled": mtls, "workloadCertTTL": "24h", "allowedClockSkew": "15m"}}
	current, err := dyn.Get(cctx(t), "daprsystem", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "dapr.io/v1alpha1", "kind": "Configuration",
			"metadata": map[string]any{"name": "daprsystem", "namespace": controlPlaneNS}, "spec": spec,
		}}
		_, err = dyn.Create(cctx(t), obj, metav1.CreateOptions{})
		require.NoError(t, err)
		return
	}
	require.NoError(t, err)
	current.Object["spec"] = spec
	_, err = dyn.Update(cctx(t), current, metav1.UpdateOptions{})
	require.NoError(t, err)
}
