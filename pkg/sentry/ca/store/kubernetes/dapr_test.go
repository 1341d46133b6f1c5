package kubernetes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	tcluster "github.com/trustplane/trustplane/test/cluster"
)

// daprPoll is the Secret poll interval of the Dapr-Role scenarios.
const daprPoll = 100 * time.Millisecond

// newDaprFixture makes a namespace as Dapr's chart leaves it: the empty
// Secret and ConfigMap dapr-trust-bundle, and the user bound to exactly
// Dapr's Role for dapr-sentry (get, update, delete of the Secret; get,
// update, list, watch of the ConfigMap; nothing else).
func newDaprFixture(t *testing.T, adminConfig, user *rest.Config, userName string) *fixture {
	t.Helper()
	f := newFixture(t, adminConfig, nil, "")
	f.config, f.client = user, clientset.NewForConfigOrDie(user)
	_, err := f.admin.RbacV1().Roles(f.ns).Create(t.Context(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: userRoleName, Namespace: f.ns}, Rules: tcluster.DaprSentryRules,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = f.admin.RbacV1().RoleBindings(f.ns).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: userRoleName, Namespace: f.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: userRoleName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: userName}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	f.createSecret(t, nil)
	f.createConfigMap(t, nil)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := f.client.CoreV1().Secrets(f.ns).Get(t.Context(), kubernetes.DefaultSecretName, metav1.GetOptions{})
		assert.NoError(c, err, "get the Secret as the user")
	}, eventually, 20*time.Millisecond)
	return f
}

// daprStore is a store as Sentry makes it under Dapr's Role: it polls the
// Secret and records no Events. Its warnings and errors go to logs.
func (f *fixture) daprStore(t *testing.T) (*kubernetes.Store, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.WarnLevel)
	return f.newStore(t, func(o *kubernetes.Options) {
		o.PollSecret, o.Recorder, o.Logger = daprPoll, nil, zap.New(core)
	}), logs
}

// noneForbidden checks that nothing was refused.
func noneForbidden(t *testing.T, logs *observer.ObservedLogs) {
	t.Helper()
	for _, e := range logs.All() {
		assert.NotContains(t, strings.ToLower(e.Message+" "+fmt.Sprint(e.ContextMap()["error"])), "forbidden", "%s", e.Message)
	}
}

func daprScenarios() map[string]func(*testing.T, *fixture) {
	return map[string]func(*testing.T, *fixture){
		"dapr: a generated bundle fills the chart's empty Secret and ConfigMap": func(t *testing.T, f *fixture) {
			s, logs := f.daprStore(t)
			_, err := s.Load()
			require.ErrorIs(t, err, kubernetes.ErrNotFound)
			b := generate(t)
			require.NoError(t, s.Save(b))
			assert.Equal(t, b.IssuerKeyPEM, f.secret(t).Data["issuer.key"])
			assert.Equal(t, string(b.RootsPEM), f.configMap(t).Data["ca.crt"])
			assert.Empty(t, logs.All())
		},
		"dapr: Watch polls the Secret: a new issuer reaches onChange, a broken edit and a deletion onError": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			f.updateSecret(t, bundleData(t, root.CertPEM(), newCA(t, root)))
			s, logs := f.daprStore(t)
			_, err := s.Load()
			require.NoError(t, err)
			w := startWatch(t, s)
			w.nothingMore(t)

			next := newCA(t, root)
			f.updateSecret(t, bundleData(t, root.CertPEM(), next))
			assert.Equal(t, next.Cert.Raw, w.nextChange(t).Issuer().Raw)
			w.nothingMore(t)

			data := bundleData(t, root.CertPEM(), next)
			delete(data, "issuer.key")
			f.updateSecret(t, data)
			require.ErrorIs(t, w.nextError(t), kubernetes.ErrIncomplete)

			require.NoError(t, f.admin.CoreV1().Secrets(f.ns).Delete(t.Context(), kubernetes.DefaultSecretName, metav1.DeleteOptions{}))
			err = w.nextError(t)
			require.ErrorIs(t, err, kubernetes.ErrNotFound)
			assert.ErrorContains(t, err, "was deleted")
			w.nothingMore(t)
			noneForbidden(t, logs)
		},
		"dapr: an absent ConfigMap it may not create is reported once, naming the rule": func(t *testing.T, f *fixture) {
			require.NoError(t, f.admin.CoreV1().ConfigMaps(f.ns).Delete(t.Context(), kubernetes.DefaultConfigMapName, metav1.DeleteOptions{}))
			s, logs := f.daprStore(t)
			require.NoError(t, s.Save(generate(t)), "Sentry signs without the ConfigMap")
			for range 3 {
				_, err := s.Load()
				require.NoError(t, err)
			}
			entries := logs.FilterMessageSnippet("Not allowed to publish").All()
			require.Len(t, entries, 1, "one warning, not one per attempt")
			assert.Equal(t, zap.WarnLevel, entries[0].Level)
			assert.Contains(t, entries[0].Message, "RBAC does not allow create configmaps in namespace "+f.ns)
			assert.Contains(t, entries[0].Message, "create the ConfigMap (empty), as Dapr's chart does")
			assert.Equal(t, 1, logs.Len(), "nothing else is logged")
		},
		"dapr: an absent Secret it may not create is an error naming the rule": func(t *testing.T, f *fixture) {
			require.NoError(t, f.admin.CoreV1().Secrets(f.ns).Delete(t.Context(), kubernetes.DefaultSecretName, metav1.DeleteOptions{}))
			s, _ := f.daprStore(t)
			err := s.Save(generate(t))
			require.Error(t, err)
			assert.True(t, apierrors.IsForbidden(err), "%v", err)
			assert.Contains(t, err.Error(), "Secret dapr-trust-bundle does not exist in namespace "+f.ns+" and RBAC does not allow Sentry to create it (create secrets in namespace "+f.ns+")")
			assert.Contains(t, err.Error(), "create it empty, as Dapr's chart does")
			_, err = f.admin.CoreV1().Secrets(f.ns).Get(t.Context(), kubernetes.DefaultSecretName, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err))
		},
		"dapr: the Role grants no list of the Secret, and no Events": func(t *testing.T, f *fixture) {
			_, err := f.client.CoreV1().Secrets(f.ns).List(t.Context(), metav1.ListOptions{FieldSelector: "metadata.name=" + kubernetes.DefaultSecretName})
			assert.True(t, apierrors.IsForbidden(err), "list the Secret by name: %v", err)
			_, err = f.client.CoreV1().ConfigMaps(f.ns).List(t.Context(), metav1.ListOptions{FieldSelector: "metadata.name=" + kubernetes.DefaultConfigMapName})
			assert.NoError(t, err, "list the ConfigMap by name, as its resourceNames rule allows")
			_, err = f.client.CoreV1().Events(f.ns).Create(t.Context(), &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{GenerateName: "x-", Namespace: f.ns},
				InvolvedObject: corev1.ObjectReference{Kind: "Secret", Namespace: f.ns, Name: kubernetes.DefaultSecretName},
			}, metav1.CreateOptions{})
			assert.True(t, apierrors.IsForbidden(err), "create an Event: %v", err)
		},
	}
}
