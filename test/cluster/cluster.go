package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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
)

// Names of the installation the tests model.
const (
	ControlPlaneNamespace = "dapr-system"
	TrustBundleName       = "dapr-trust-bundle"
	SentryID              = "spiffe://cluster.local/ns/dapr-system/dapr-sentry"
)

// Configurations is the configurations.dapr.io resource.
var Configurations = schema.GroupVersionResource{Group: "dapr.io", Version: "v1alpha1", Resource: "configurations"}

// Cluster is a prepared apiserver with an admin client.
type Cluster struct {
	Env    *envtest.Env
	Client kubernetes.Interface
}

// New starts the apiserver with the CRDs of config/crd/bases and Dapr's
// Component CRD, creates the control-plane namespace and its
// ServiceAccounts, and applies config/rbac/sentry.yaml (or, with
// Options.SentryRBAC DaprRBAC, Dapr's rules for dapr-sentry instead) and
// config/rbac/injector.yaml.
func New(t *testing.T, opts ...Options) *Cluster {
	t.Helper()
	var o Options
	for _, x := range opts {
		if x.SentryRBAC != TrustplaneRBAC {
			o.SentryRBAC = x.SentryRBAC
		}
	}
	env := envtest.Start(t, envtest.Options{
		CRDDirectoryPaths: []string{filepath.Join(envtest.RepoRoot(), "config", "crd", "bases")},
		CRDs:              []*apiextensionsv1.CustomResourceDefinition{ComponentCRD()},
	})
	c := &Cluster{Env: env, Client: kubernetes.NewForConfigOrDie(env.Config)}
	c.Namespace(t, ControlPlaneNamespace)
	for _, sa := range []string{"dapr-sentry", "dapr-injector"} {
		_, err := c.Client.CoreV1().ServiceAccounts(ControlPlaneNamespace).Create(Context(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	switch o.SentryRBAC {
	case DaprRBAC:
		c.applyDaprRBAC(t)
	default:
		c.ApplyRBAC(t, "sentry.yaml")
	}
	c.ApplyRBAC(t, "injector.yaml")
	return c
}

// Context is a 60s context tied to the test.
func Context(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Namespace creates a namespace.
func (c *Cluster) Namespace(t *testing.T, name string) {
	t.Helper()
	_, err := c.Client.CoreV1().Namespaces().Create(Context(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// ApplyRBAC creates the roles and bindings of config/rbac/<file>, decoded
// strictly so that a typo in the shipped file fails the test.
func (c *Cluster) ApplyRBAC(t *testing.T, file string) {
	t.Helper()
	ctx := Context(t)
	data, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), "config", "rbac", file))
	require.NoError(t, err)
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var meta metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.Client.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{})
		case "ClusterRoleBinding":
			var r rbacv1.ClusterRoleBinding
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &r, metav1.CreateOptions{})
		case "Role":
			var r rbacv1.Role
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.Client.RbacV1().Roles(r.Namespace).Create(ctx, &r, metav1.CreateOptions{})
		case "RoleBinding":
			var r rbacv1.RoleBinding
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &r))
			_, err = c.Client.RbacV1().RoleBindings(r.Namespace).Create(ctx, &r, metav1.CreateOptions{})
		default:
			t.Fatalf("unexpected kind %q in config/rbac/%s", meta.Kind, file)
		}
		require.NoError(t, err, "%s in %s", meta.Kind, file)
	}
}

// Kubeconfig authenticates as ServiceAccount sa of the control-plane
// namespace with a token: a process using it has exactly that account's
// RBAC.
func (c *Cluster) Kubeconfig(t *testing.T, sa string) string {
	t.Helper()
	tr, err := c.Client.CoreV1().ServiceAccounts(ControlPlaneNamespace).CreateToken(Context(t), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.Env.Config.Host, CertificateAuthorityData: c.Env.Config.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[sa] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: sa}
	cfg.CurrentContext = sa
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// Anchors waits for the roots Sentry publishes in the ConfigMap.
func (c *Cluster) Anchors(t *testing.T) []byte {
	t.Helper()
	var data []byte
	require.Eventually(t, func() bool {
		cm, err := c.Client.CoreV1().ConfigMaps(ControlPlaneNamespace).Get(Context(t), TrustBundleName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		data = []byte(cm.Data["ca.crt"])
		return len(data) > 0
	}, 30*time.Second, 50*time.Millisecond, "the anchors ConfigMap is published")
	return data
}

// PodToken plays the kubelet: it creates ServiceAccount sa (if missing) and
// a pod with the annotations in ns, and returns a token bound to that pod
// with audiences aud.
func (c *Cluster) PodToken(t *testing.T, ns, sa, pod string, annotations map[string]string, aud ...string) (string, *corev1.Pod) {
	t.Helper()
	ctx := Context(t)
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		_, err = c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	p, err := c.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod, Annotations: annotations},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			Containers:         []corev1.Container{{Name: "app", Image: "app:1"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	tr, err := c.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         aud,
			ExpirationSeconds: ptr.To[int64](600),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return tr.Status.Token, p
}

// TokenFile writes a token to a private file, as the kubelet projects it.
func TokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(path, []byte(token), 0o600))
	return path
}

// ApplyConfiguration creates the Configuration name in ns with spec, or
// replaces the spec of the existing one, the way kubectl edit does.
func (c *Cluster) ApplyConfiguration(t *testing.T, ns, name string, spec map[string]any) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(c.Env.Config).Resource(Configurations).Namespace(ns)
	current, err := dyn.Get(Context(t), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "dapr.io/v1alpha1", "kind": "Configuration",
			"metadata": map[string]any{"name": name, "namespace": ns}, "spec": spec,
		}}
		_, err = dyn.Create(Context(t), obj, metav1.CreateOptions{})
		require.NoError(t, err)
		return
	}
	require.NoError(t, err)
	current.Object["spec"] = spec
	_, err = dyn.Update(Context(t), current, metav1.UpdateOptions{})
	require.NoError(t, err)
}
