package trustctl

import (
	"bytes"
	"context"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/test/envtest"
	"github.com/trustplane/trustplane/test/testca"
)

const bundleName = "dapr-trust-bundle"

// cluster is a real apiserver with the Configuration CRD.
type cluster struct {
	env  *envtest.Env
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	env := envtest.Start(t, envtest.Options{CRDDirectoryPaths: []string{filepath.Join(envtest.RepoRoot(), "config", "crd", "bases")}})
	return &cluster{env: env, kube: kubernetes.NewForConfigOrDie(env.Config), dyn: dynamic.NewForConfigOrDie(env.Config)}
}

func cctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// install is what a control-plane namespace holds.
type install struct {
	mtls        *bool  // spec.mtls.enabled; nil: true
	trustDomain string // spec.mtls.controlPlaneTrustDomain
	clockSkew   string // spec.mtls.allowedClockSkew
	ca          *testca.CA
	noConfig    bool // no daprsystem object
}

// setup creates namespace ns with daprsystem, the trust bundle Secret
// (in.ca and its root) and the ConfigMap publishing the root.
func (c *cluster) setup(t *testing.T, ns string, in install) {
	t.Helper()
	ctx := cctx(t)
	_, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	if !in.noConfig {
		mtls := map[string]any{"enabled": true} // the CRD requires it
		if in.mtls != nil {
			mtls["enabled"] = *in.mtls
		}
		if in.trustDomain != "" {
			mtls["controlPlaneTrustDomain"] = in.trustDomain
		}
		if in.clockSkew != "" {
			mtls["allowedClockSkew"] = in.clockSkew
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": v1alpha1.APIVersion, "kind": v1alpha1.Kind,
			"metadata": map[string]any{"name": "daprsystem", "namespace": ns},
			"spec":     map[string]any{"mtls": mtls},
		}}
		_, err = c.dyn.Resource(v1alpha1.GroupVersionResource).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	if in.ca == nil {
		return
	}
	_, err = c.kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bundleName, Namespace: ns, Labels: map[string]string{"app": "dapr-sentry"}},
		Data: map[string][]byte{
			"ca.crt": in.ca.Root.CertPEM(), "issuer.crt": in.ca.CertPEM(), "issuer.key": in.ca.KeyPEM(t),
			"jwt.key": []byte("kept"),
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: bundleName, Namespace: ns},
		Data:       map[string]string{"ca.crt": string(in.ca.Root.CertPEM())},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// result is one trustctl run.
type result struct {
	code           int
	stdout, stderr string
}

// run runs trustctl in-process with the admin kubeconfig.
func (c *cluster) run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--kubeconfig", c.env.Kubeconfig)
	code := app.Main(cctx(t), args, app.Env{Out: &out, Err: &errOut})
	t.Logf("trustctl %v → %d\nstdout:\n%s\nstderr:\n%s", args[:len(args)-2], code, out.String(), errOut.String())
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (c *cluster) secret(t *testing.T, ns string) *corev1.Secret {
	t.Helper()
	s, err := c.kube.CoreV1().Secrets(ns).Get(cctx(t), bundleName, metav1.GetOptions{})
	require.NoError(t, err)
	return s
}

func (c *cluster) configMap(t *testing.T, ns string) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.kube.CoreV1().ConfigMaps(ns).Get(cctx(t), bundleName, metav1.GetOptions{})
	require.NoError(t, err)
	return cm
}

// storedBundle parses and verifies the Secret's bundle.
func (c *cluster) storedBundle(t *testing.T, ns string) *bundle.Bundle {
	t.Helper()
	s := c.secret(t, ns)
	b, err := bundle.Parse(s.Data["ca.crt"], s.Data["issuer.crt"], s.Data["issuer.key"])
	require.NoError(t, err)
	require.NoError(t, b.Verify(time.Now()))
	return b
}

// deployment creates a minimal Deployment.
func (c *cluster) deployment(t *testing.T, ns, name string) {
	t.Helper()
	sel, tmpl := podTemplate(name)
	_, err := c.kube.AppsV1().Deployments(ns).Create(cctx(t), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.DeploymentSpec{Selector: sel, Template: tmpl},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// podTemplate is the selector and pod template of a workload name.
func podTemplate(name string) (*metav1.LabelSelector, corev1.PodTemplateSpec) {
	labels := map[string]string{"app": name}
	return &metav1.LabelSelector{MatchLabels: labels}, corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/c:1"}}},
	}
}

// verifies reports whether the issuer chain of b verifies to root.
func verifies(b *bundle.Bundle, root *x509.Certificate) bool {
	pool := x509.NewCertPool()
	pool.AddCert(root)
	_, err := b.Issuer().Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}
