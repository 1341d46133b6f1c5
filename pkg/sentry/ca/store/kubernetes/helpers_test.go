package kubernetes_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	"github.com/trustplane/trustplane/test/testca"
)

// eventually is how long a test waits for an asynchronous outcome (an
// Event, a watch callback).
const eventually = 20 * time.Second

// newCA returns a root (parent nil) or an issuer under parent; the test CA
// keeps its keys, so tests can rotate issuers under one root (a generated
// bundle throws its root key away).
func newCA(t testing.TB, parent *testca.CA) *testca.CA {
	t.Helper()
	if parent == nil {
		return testca.NewRoot(t)
	}
	return parent.Issuer(t)
}

// bundleData is the Secret data of a bundle of roots (PEM) and issuer.
func bundleData(t testing.TB, roots []byte, issuer *testca.CA) map[string][]byte {
	t.Helper()
	return map[string][]byte{"ca.crt": roots, "issuer.crt": issuer.CertPEM(), "issuer.key": issuer.KeyPEM(t)}
}

func generate(t testing.TB) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Generate(bundle.GenerateOptions{
		TrustDomain: spiffeid.RequireTrustDomainFromString("cluster.local"),
		Namespace:   "dapr-system",
		Now:         time.Now(),
	})
	require.NoError(t, err)
	return b
}

// userRoleName is the Role the RBAC-limited user is bound to.
const userRoleName = "sentry-trust-bundle"

// fixture is one scenario's namespace on the shared apiserver.
type fixture struct {
	ns    string
	admin clientset.Interface
	// config is the store's identity: the admin's, or the RBAC-limited
	// user's; client talks as it.
	config *rest.Config
	client clientset.Interface
}

var nsCounter atomic.Int64

// newFixture makes a namespace; when user is set, the user gets exactly
// the store's Role in it and the store talks as the user.
func newFixture(t *testing.T, adminConfig, user *rest.Config, userName string) *fixture {
	t.Helper()
	admin := clientset.NewForConfigOrDie(adminConfig)
	ns := fmt.Sprintf("sentry-%d", nsCounter.Add(1))
	_, err := admin.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	f := &fixture{ns: ns, admin: admin, config: adminConfig, client: admin}
	if user == nil {
		return f
	}
	f.config = user
	f.client = clientset.NewForConfigOrDie(user)
	role := f.newStore(t).Role(userRoleName)
	_, err = admin.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: userRoleName, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: userRoleName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: userName}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	// The authorizer learns of the binding through its informers.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := f.client.CoreV1().Secrets(ns).Get(t.Context(), kubernetes.DefaultSecretName, metav1.GetOptions{})
		assert.True(c, apierrors.IsNotFound(err), "get the Secret as the user: %v", err)
	}, eventually, 20*time.Millisecond)
	return f
}

// newStore returns a store in the fixture's namespace talking as the
// fixture's client, with Events recorded through that client too.
func (f *fixture) newStore(t *testing.T, mods ...func(*kubernetes.Options)) *kubernetes.Store {
	t.Helper()
	// A client of its own, as each Sentry replica has.
	client := clientset.NewForConfigOrDie(f.config)
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	t.Cleanup(broadcaster.Shutdown)
	opts := kubernetes.Options{
		Client:    client,
		Namespace: f.ns,
		Recorder:  broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "sentry-test"}),
		Logger:    zaptest.NewLogger(t),
	}
	for _, m := range mods {
		m(&opts)
	}
	s, err := kubernetes.New(opts)
	require.NoError(t, err)
	return s
}

func (f *fixture) createSecret(t *testing.T, data map[string][]byte) *corev1.Secret {
	t.Helper()
	sec, err := f.admin.CoreV1().Secrets(f.ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: kubernetes.DefaultSecretName, Namespace: f.ns},
		Data:       data,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return sec
}

func (f *fixture) updateSecret(t *testing.T, data map[string][]byte) *corev1.Secret {
	t.Helper()
	sec := f.secret(t)
	sec.Data = data
	sec, err := f.admin.CoreV1().Secrets(f.ns).Update(t.Context(), sec, metav1.UpdateOptions{})
	require.NoError(t, err)
	return sec
}

func (f *fixture) secret(t *testing.T) *corev1.Secret {
	t.Helper()
	sec, err := f.admin.CoreV1().Secrets(f.ns).Get(t.Context(), kubernetes.DefaultSecretName, metav1.GetOptions{})
	require.NoError(t, err)
	return sec
}

func (f *fixture) createConfigMap(t *testing.T, data map[string]string) *corev1.ConfigMap {
	t.Helper()
	cm, err := f.admin.CoreV1().ConfigMaps(f.ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: kubernetes.DefaultConfigMapName, Namespace: f.ns},
		Data:       data,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return cm
}

func (f *fixture) configMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	cm, err := f.admin.CoreV1().ConfigMaps(f.ns).Get(t.Context(), kubernetes.DefaultConfigMapName, metav1.GetOptions{})
	require.NoError(t, err)
	return cm
}

// requireUnchanged checks that the Secret is byte for byte what it was.
func (f *fixture) requireUnchanged(t *testing.T, before *corev1.Secret) {
	t.Helper()
	after := f.secret(t)
	require.Equal(t, before.ResourceVersion, after.ResourceVersion, "the Secret was written")
	require.Equal(t, before.Data, after.Data)
}

// event waits for an Event of reason on the Secret and returns its message.
func (f *fixture) event(t *testing.T, eventType, reason string) string {
	t.Helper()
	var msg string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		list, err := f.admin.CoreV1().Events(f.ns).List(t.Context(), metav1.ListOptions{})
		require.NoError(c, err)
		for _, e := range list.Items {
			if e.Reason == reason && e.Type == eventType &&
				e.InvolvedObject.Kind == "Secret" && e.InvolvedObject.Name == kubernetes.DefaultSecretName {
				msg = e.Message
				return
			}
		}
		c.Errorf("no %s Event %s on the Secret among %d", eventType, reason, len(list.Items))
	}, eventually, 100*time.Millisecond)
	return msg
}

// noEvent checks that no Event of reason was recorded.
func (f *fixture) noEvent(t *testing.T, reason string) {
	t.Helper()
	list, err := f.admin.CoreV1().Events(f.ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	for _, e := range list.Items {
		assert.NotEqual(t, reason, e.Reason, "unexpected Event: %s", e.Message)
	}
}

func joinPEM(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
