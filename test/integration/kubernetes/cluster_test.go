package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/test/envtest"
)

const sentryNS = "dapr-system"

// cluster is a real apiserver with the Configuration CRD and Sentry's RBAC.
type cluster struct {
	env    *envtest.Env
	client kubernetes.Interface
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	env := envtest.Start(t, envtest.Options{CRDDirectoryPaths: []string{filepath.Join(envtest.RepoRoot(), "config", "crd", "bases")}})
	c := &cluster{env: env, client: kubernetes.NewForConfigOrDie(env.Config)}
	c.namespace(t, sentryNS)
	c.applyRBAC(t)
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

// applyRBAC creates the ServiceAccount and the roles of config/rbac/sentry.yaml.
func (c *cluster) applyRBAC(t *testing.T) {
	t.Helper()
	ctx := cctx(t)
	_, err := c.client.CoreV1().ServiceAccounts(sentryNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "dapr-sentry"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), "config", "rbac", "sentry.yaml"))
	require.NoError(t, err)
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var meta metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			require.NoError(t, yaml.Unmarshal([]byte(doc), &r))
			_, err = c.client.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{})
		case "ClusterRoleBinding":
			var r rbacv1.ClusterRoleBinding
			require.NoError(t, yaml.Unmarshal([]byte(doc), &r))
			_, err = c.client.RbacV1().ClusterRoleBindings().Create(ctx, &r, metav1.CreateOptions{})
		case "Role":
			var r rbacv1.Role
			require.NoError(t, yaml.Unmarshal([]byte(doc), &r))
			_, err = c.client.RbacV1().Roles(r.Namespace).Create(ctx, &r, metav1.CreateOptions{})
		case "RoleBinding":
			var r rbacv1.RoleBinding
			require.NoError(t, yaml.Unmarshal([]byte(doc), &r))
			_, err = c.client.RbacV1().RoleBindings(r.Namespace).Create(ctx, &r, metav1.CreateOptions{})
		default:
			t.Fatalf("unexpected kind %q in config/rbac/sentry.yaml", meta.Kind)
		}
		require.NoError(t, err, meta.Kind)
	}
}

// sentryKubeconfig is a kubeconfig that authenticates as the dapr-sentry
// ServiceAccount with a token: Sentry gets exactly the RBAC above.
func (c *cluster) sentryKubeconfig(t *testing.T) string {
	t.Helper()
	tr, err := c.client.CoreV1().ServiceAccounts(sentryNS).CreateToken(cctx(t), "dapr-sentry", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.env.Config.Host, CertificateAuthorityData: c.env.Config.CAData}
	cfg.AuthInfos["dapr-sentry"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["dapr-sentry"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "dapr-sentry"}
	cfg.CurrentContext = "dapr-sentry"
	path := filepath.Join(t.TempDir(), "sentry.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// workload creates a ServiceAccount and a pod with the given annotations in
// ns and returns a token bound to that pod with audience aud.
func (c *cluster) workload(t *testing.T, ns, sa, pod string, annotations map[string]string, aud ...string) (string, *corev1.Pod) {
	t.Helper()
	ctx := cctx(t)
	if _, err := c.client.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{}); err != nil {
		_, err = c.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	p, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod, Annotations: annotations},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			Containers:         []corev1.Container{{Name: "app", Image: "app:1"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	tr, err := c.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         aud,
			ExpirationSeconds: ptr.To[int64](600),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return tr.Status.Token, p
}

var configurations = schema.GroupVersionResource{Group: "dapr.io", Version: "v1alpha1", Resource: "configurations"}

// applyConfiguration creates the Configuration in doc, or updates it the
// way kubectl edit does (same object, new spec).
func applyConfiguration(t *testing.T, c *cluster, doc string) {
	t.Helper()
	var obj unstructured.Unstructured
	require.NoError(t, obj.UnmarshalJSON([]byte(doc)))
	dyn := dynamic.NewForConfigOrDie(c.env.Config).Resource(configurations).Namespace(obj.GetNamespace())
	current, err := dyn.Get(cctx(t), obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = dyn.Create(cctx(t), &obj, metav1.CreateOptions{})
		require.NoError(t, err)
		return
	}
	require.NoError(t, err)
	current.Object["spec"] = obj.Object["spec"]
	_, err = dyn.Update(cctx(t), current, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func mustID(s string) spiffeid.ID { return spiffeid.RequireFromString(s) }
