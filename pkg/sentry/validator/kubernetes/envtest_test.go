package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
	tcluster "github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/envtest"
)

// The ClusterRole doc.go documents, and nothing more.
var validatorRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"dapr.io"}, Resources: []string{"configurations"}, Verbs: []string{"get", "list", "watch"}},
}

// configurationCRD is a minimal configurations.dapr.io/v1alpha1.
func configurationCRD() *apiextensionsv1.CustomResourceDefinition {
	return tcluster.DaprCRD("Configuration", map[string]apiextensionsv1.JSONSchemaProps{"spec": tcluster.Preserve})
}

// cluster is an envtest apiserver with a validator running as an
// RBAC-limited user.
type cluster struct {
	admin *k8s.Clientset
	dyn   dynamic.Interface
	v     *Validator
	reg   *prometheus.Registry
	user  func(name string) *rest.Config
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := envtest.Start(t, envtest.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{configurationCRD()}})
	c := &cluster{admin: k8s.NewForConfigOrDie(env.Config), dyn: dynamic.NewForConfigOrDie(env.Config), reg: prometheus.NewRegistry()}
	ctx := t.Context()
	_, err := c.admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "sentry-kubernetes-validator"}, Rules: validatorRules,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "sentry-kubernetes-validator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "sentry-kubernetes-validator"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "sentry"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	c.user = func(name string) *rest.Config {
		cfg, _ := env.User(t, name)
		return cfg
	}
	c.v, err = New(Options{Config: c.user("sentry"), SentryID: sentryID, Registerer: c.reg})
	require.NoError(t, err)
	runValidator(t, c.v)
	for _, ns := range []string{"tenant-a", "tenant-b", "dapr-system"} {
		_, err := c.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	return c
}

// pod creates a service account (if new) and a pod running as it, and
// waits until the validator's cache holds that pod.
func (c *cluster) pod(t *testing.T, ns, name, sa string, ann map[string]string) *corev1.Pod {
	t.Helper()
	ctx := t.Context()
	_, err := c.admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !isAlreadyExists(err) {
		require.NoError(t, err)
	}
	p, err := c.admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			Containers:         []corev1.Container{{Name: "app", Image: "example.org/app:1"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		obj, ok, _ := c.v.podInformer.GetIndexer().GetByKey(ns + "/" + name)
		return ok && obj.(*corev1.Pod).UID == p.UID
	}, 10*time.Second, 10*time.Millisecond, "pod %s/%s never reached the cache", ns, name)
	return p
}

// token issues a token of the pod's service account, bound to the pod.
func (c *cluster) token(t *testing.T, p *corev1.Pod, audiences ...string) string {
	t.Helper()
	tr, err := c.admin.CoreV1().ServiceAccounts(p.Namespace).CreateToken(t.Context(), p.Spec.ServiceAccountName, &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{
			Audiences:         audiences,
			ExpirationSeconds: ptr.To[int64](600),
			BoundObjectRef:    &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return tr.Status.Token
}

func (c *cluster) reviews(t *testing.T) float64 {
	t.Helper()
	return counter(t, c.reg, MetricTokenReviews, ResultAuthenticated) +
		counter(t, c.reg, MetricTokenReviews, ResultRejected) + counter(t, c.reg, MetricTokenReviews, ResultError)
}

func isAlreadyExists(err error) bool {
	var st interface{ Status() metav1.Status }
	return errors.As(err, &st) && st.Status().Reason == metav1.StatusReasonAlreadyExists
}

func validate(ctx context.Context, v *Validator, ns, appID, token string) (string, error) {
	id, err := v.Validate(ctx, validator.Request{HasCSR: true, Namespace: ns, AppID: appID, Token: token})
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func TestEnvtest(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()
	sentry := sentryID.String()

	orders := c.pod(t, "tenant-a", "orders-0", "orders", map[string]string{AnnotationAppID: "orders"})
	ordersToken := c.token(t, orders, sentry)

	t.Run("a pod-bound token proves the pod's app ID in the public trust domain", func(t *testing.T) {
		id, err := validate(ctx, c.v, "tenant-a", "orders", ordersToken)
		require.NoError(t, err)
		assert.Equal(t, "spiffe://public/ns/tenant-a/orders", id)
	})

	t.Run("a repeat sign costs no TokenReview", func(t *testing.T) {
		before, hits := c.reviews(t), counter(t, c.reg, MetricReviewCacheHit, "")
		for range 3 {
			_, err := validate(ctx, c.v, "tenant-a", "orders", ordersToken)
			require.NoError(t, err)
		}
		assert.Equal(t, before, c.reviews(t))
		assert.Equal(t, hits+3, counter(t, c.reg, MetricReviewCacheHit, ""))
	})

	t.Run("the same token cannot ask for another namespace or app ID", func(t *testing.T) {
		_, err := validate(ctx, c.v, "tenant-b", "orders", ordersToken)
		assert.ErrorIs(t, err, ErrNamespaceMismatch)
		_, err = validate(ctx, c.v, "tenant-a", "payments", ordersToken)
		assert.ErrorIs(t, err, ErrAppIDMismatch)
	})

	t.Run("the pod's Configuration sets the trust domain", func(t *testing.T) {
		cfg := newConfiguration("tenant-a", "appcfg", "example.org")
		_, err := c.dyn.Resource(ConfigurationResource).Namespace("tenant-a").Create(ctx, cfg, metav1.CreateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, ok, _ := c.v.cfgInformer.GetIndexer().GetByKey("tenant-a/appcfg")
			return ok
		}, 10*time.Second, 10*time.Millisecond)
		p := c.pod(t, "tenant-a", "cart-0", "cart", map[string]string{AnnotationAppID: "cart", AnnotationConfig: "appcfg"})
		id, err := validate(ctx, c.v, "tenant-a", "cart", c.token(t, p, sentry))
		require.NoError(t, err)
		assert.Equal(t, "spiffe://example.org/ns/tenant-a/cart", id)
	})

	t.Run("a pod without an app-id annotation is known by its name", func(t *testing.T) {
		p := c.pod(t, "tenant-b", "worker-0", "worker", nil)
		id, err := validate(ctx, c.v, "tenant-b", "worker-0", c.token(t, p, sentry))
		require.NoError(t, err)
		assert.Equal(t, "spiffe://public/ns/tenant-b/worker-0", id)
	})

	t.Run("the legacy audience is accepted", func(t *testing.T) {
		id, err := validate(ctx, c.v, "tenant-a", "orders", c.token(t, orders, LegacyAudience))
		require.NoError(t, err)
		assert.Equal(t, "spiffe://public/ns/tenant-a/orders", id)
	})

	t.Run("a token for another audience is refused without a TokenReview", func(t *testing.T) {
		before, skipped := c.reviews(t), counter(t, c.reg, MetricReviewsSkipped, ReasonWrongAudience)
		_, err := validate(ctx, c.v, "tenant-a", "orders", c.token(t, orders, "https://vault.example.org"))
		assert.ErrorIs(t, err, ErrInvalidToken)
		assert.Equal(t, before, c.reviews(t))
		assert.Equal(t, skipped+1, counter(t, c.reg, MetricReviewsSkipped, ReasonWrongAudience))
	})

	t.Run("a token for Sentry's audience and another is accepted", func(t *testing.T) {
		id, err := validate(ctx, c.v, "tenant-a", "orders", c.token(t, orders, "https://vault.example.org", sentry))
		require.NoError(t, err)
		assert.Equal(t, "spiffe://public/ns/tenant-a/orders", id)
	})

	t.Run("a forged token is refused by the apiserver once, then from the cache", func(t *testing.T) {
		parts := strings.Split(ordersToken, ".")
		forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		before := counter(t, c.reg, MetricTokenReviews, ResultRejected)
		for range 10 {
			_, err := validate(ctx, c.v, "tenant-a", "orders", forged)
			assert.ErrorIs(t, err, ErrInvalidToken)
		}
		assert.Equal(t, before+1, counter(t, c.reg, MetricTokenReviews, ResultRejected))
	})

	t.Run("the token of another service account's pod cannot take the app ID", func(t *testing.T) {
		p := c.pod(t, "tenant-a", "payments-0", "payments", map[string]string{AnnotationAppID: "payments"})
		_, err := validate(ctx, c.v, "tenant-a", "orders", c.token(t, p, sentry))
		assert.ErrorIs(t, err, ErrAppIDMismatch)
	})

	t.Run("a control-plane pod gets its identity only in Sentry's namespace", func(t *testing.T) {
		inside := c.pod(t, "dapr-system", "dapr-operator-0", "dapr-operator", map[string]string{AnnotationControlPlane: "operator"})
		id, err := validate(ctx, c.v, "dapr-system", "dapr-operator", c.token(t, inside, sentry))
		require.NoError(t, err)
		assert.Equal(t, "spiffe://cluster.local/ns/dapr-system/dapr-operator", id)

		outside := c.pod(t, "tenant-a", "fake-operator-0", "fake-operator", map[string]string{AnnotationControlPlane: "operator"})
		_, err = validate(ctx, c.v, "tenant-a", "dapr-operator", c.token(t, outside, sentry))
		assert.ErrorIs(t, err, ErrControlPlane)
	})

	t.Run("a deleted pod's token is refused once the cache sees it, and a recreated pod does not inherit it", func(t *testing.T) {
		p := c.pod(t, "tenant-b", "temp-0", "temp", map[string]string{AnnotationAppID: "temp"})
		token := c.token(t, p, sentry)
		_, err := validate(ctx, c.v, "tenant-b", "temp", token)
		require.NoError(t, err)

		require.NoError(t, c.admin.CoreV1().Pods("tenant-b").Delete(ctx, "temp-0", metav1.DeleteOptions{}))
		require.Eventually(t, func() bool {
			_, err := validate(ctx, c.v, "tenant-b", "temp", token)
			return errors.Is(err, ErrPodNotFound)
		}, 10*time.Second, 10*time.Millisecond)

		c.pod(t, "tenant-b", "temp-0", "temp", map[string]string{AnnotationAppID: "temp"})
		_, err = validate(ctx, c.v, "tenant-b", "temp", token)
		assert.ErrorIs(t, err, ErrPodNotFound, "the new pod has another UID")
	})

	t.Run("a Configuration without a trust domain, or none at all, means public", func(t *testing.T) {
		p := c.pod(t, "tenant-b", "nocfg-0", "nocfg", map[string]string{AnnotationAppID: "nocfg", AnnotationConfig: "missing"})
		id, err := validate(ctx, c.v, "tenant-b", "nocfg", c.token(t, p, sentry))
		require.NoError(t, err)
		assert.Equal(t, "spiffe://public/ns/tenant-b/nocfg", id)
	})

	t.Run("without the Configuration rule the validator never gets ready", func(t *testing.T) {
		testNeedsEveryRBACRule(t, c)
	})
}

// testNeedsEveryRBACRule runs a validator without the Configuration rule.
func testNeedsEveryRBACRule(t *testing.T, c *cluster) {
	ctx := t.Context()
	// "sentry-lite" may review tokens and read pods, but not Configurations.
	_, err := c.admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "sentry-lite"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "sentry-lite"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "sentry-lite"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "sentry-lite"}, Rules: validatorRules[:2],
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	core, logs := observer.New(zap.WarnLevel)
	v, err := New(Options{Config: c.user("sentry-lite"), SentryID: sentryID, Logger: zap.New(core)})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Start(runCtx) }()
	require.Eventually(t, func() bool { return logs.FilterMessage("Cannot list or watch; retrying").Len() > 0 },
		10*time.Second, 10*time.Millisecond, "the forbidden Configuration watch is logged")
	assert.False(t, v.Ready(), "no Configuration cache, no readiness")
	entry := logs.FilterMessage("Cannot list or watch; retrying").All()[0]
	assert.Equal(t, "configurations.dapr.io", entry.ContextMap()["resource"])
	assert.Contains(t, entry.ContextMap()["needs"], "list and watch of configurations.dapr.io in all namespaces")
	time.Sleep(3 * time.Second) // the informer retries after 0.8 s, 1.6 s, ...
	assert.Equal(t, 1, logs.FilterMessage("Cannot list or watch; retrying").Len(), "one warning, not one per retry")
	_, err = v.Validate(ctx, validator.Request{HasCSR: true, Namespace: "tenant-a", AppID: "orders", Token: "x"})
	assert.ErrorIs(t, err, ErrNotReady)
	cancel()
	require.NoError(t, <-done)
}
