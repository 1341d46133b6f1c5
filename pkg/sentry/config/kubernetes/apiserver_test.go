package kubernetes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/test/envtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// klog's flush daemon is started once per process by client-go.
		goleak.IgnoreTopFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
	)
}

// wait is how long the tests wait for the API server and the informer.
const wait = 20 * time.Second

// cluster is a running API server with the CRD installed.
type cluster struct {
	cfg     *rest.Config
	dyn     dynamic.Interface
	kube    k8s.Interface
	counter atomic.Int32
}

// namespace creates a fresh namespace for one subtest.
func (c *cluster) namespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("ns-%d", c.counter.Add(1))
	_, err := c.kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	return name
}

func (c *cluster) configurations(ns string) dynamic.ResourceInterface {
	return c.dyn.Resource(v1alpha1.GroupVersionResource).Namespace(ns)
}

// create stores a Configuration given as YAML in ns.
func (c *cluster) create(t *testing.T, ns, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &u.Object))
	got, err := c.configurations(ns).Create(t.Context(), u, metav1.CreateOptions{})
	require.NoError(t, err)
	return got
}

// edit does what `kubectl edit` does: get, change, update the whole object.
func (c *cluster) edit(t *testing.T, ns, name string, change func(u *unstructured.Unstructured)) {
	t.Helper()
	u, err := c.configurations(ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	change(u)
	_, err = c.configurations(ns).Update(t.Context(), u, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func setTTL(ttl string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, ttl, "spec", "mtls", "workloadCertTTL"); err != nil {
			panic(err)
		}
	}
}

// started is a running Source.
type started struct {
	src     *Source
	changes chan config.Config
	done    chan error
	cancel  context.CancelFunc
}

// start runs src.Start until the test ends and checks that it returns nil.
func start(t *testing.T, src *Source) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &started{src: src, changes: make(chan config.Config, 16), done: make(chan error, 1), cancel: cancel}
	go func() { s.done <- src.Start(ctx, func(c config.Config) { s.changes <- c }) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels Start and requires that it returns nil promptly.
func (s *started) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok {
			require.NoError(t, err, "Start returns nil when its context is done")
			close(s.done)
		}
	case <-time.After(wait):
		t.Fatal("Start did not return after its context was cancelled")
	}
}

func (s *started) nextChange(t *testing.T) config.Config {
	t.Helper()
	select {
	case c := <-s.changes:
		return c
	case <-time.After(wait):
		t.Fatal("onChange was not called")
		return config.Config{}
	}
}

func (s *started) noChange(t *testing.T) {
	t.Helper()
	select {
	case c := <-s.changes:
		t.Fatalf("unexpected onChange with %+v", c)
	default:
	}
}

// recorder records Events through the API server, as Sentry would.
func (c *cluster) recorder(t *testing.T) record.EventRecorder {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, v1alpha1.AddToScheme(scheme))
	b := record.NewBroadcaster(record.WithContext(t.Context()))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	t.Cleanup(b.Shutdown)
	return b.NewRecorder(scheme, corev1.EventSource{Component: "dapr-sentry"})
}

// warningEvent waits for a Warning Event about the Configuration name in ns.
func (c *cluster) warningEvent(t *testing.T, ns, name string) corev1.Event {
	t.Helper()
	var found corev1.Event
	require.Eventually(t, func() bool {
		list, err := c.kube.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == v1alpha1.Kind && ev.InvolvedObject.Name == name && ev.Type == corev1.EventTypeWarning {
				found = ev
				return true
			}
		}
		return false
	}, wait, 50*time.Millisecond, "no Warning Event on %s/%s", ns, name)
	return found
}

const daprsystem = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprsystem
spec:
  mtls:
    enabled: true
    workloadCertTTL: 24h
    allowedClockSkew: 15m
    controlPlaneTrustDomain: cluster.local
    sentryAddress: dapr-sentry.dapr-system.svc.cluster.local:443
`

func TestAgainstAPIServer(t *testing.T) {
	env := envtest.Start(t, envtest.Options{
		CRDDirectoryPaths: []string{filepath.Join(envtest.RepoRoot(), "config", "crd", "bases")},
	})
	c := &cluster{cfg: env.Config}
	var err error
	c.dyn, err = dynamic.NewForConfig(env.Config)
	require.NoError(t, err)
	c.kube, err = k8s.NewForConfig(env.Config)
	require.NoError(t, err)

	t.Run("a missing object gives the defaults and is picked up when created", func(t *testing.T) {
		ns := c.namespace(t)
		core, logs := observer.New(zap.InfoLevel)
		src, err := New(Options{Config: c.cfg, Namespace: ns, Logger: zap.New(core)})
		require.NoError(t, err)
		require.NoError(t, src.Load(t.Context()))
		assert.Equal(t, config.Default(), src.Current())
		assert.Equal(t, 1, logs.FilterLevelExact(zap.WarnLevel).FilterMessageSnippet("not found").Len())

		s := start(t, src)
		c.create(t, ns, strings.Replace(daprsystem, "24h", "1h", 1))
		got := s.nextChange(t)
		assert.Equal(t, time.Hour, got.WorkloadCertTTL)
		assert.Equal(t, time.Hour, src.Current().WorkloadCertTTL)
		assert.Equal(t, "cluster.local", src.Current().ControlPlaneTrustDomain.String())
	})

	t.Run("an edit of workloadCertTTL changes Current and calls onChange", func(t *testing.T) {
		ns := c.namespace(t)
		c.create(t, ns, daprsystem)
		src, err := New(Options{Config: c.cfg, Namespace: ns})
		require.NoError(t, err)
		require.NoError(t, src.Load(t.Context()))
		assert.Equal(t, 24*time.Hour, src.Current().WorkloadCertTTL)

		s := start(t, src)
		// An edit outside spec.mtls is not a change for Sentry: the next
		// onChange is the TTL edit that follows it.
		c.edit(t, ns, DefaultName, func(u *unstructured.Unstructured) {
			require.NoError(t, unstructured.SetNestedField(u.Object, "1", "spec", "tracing", "samplingRate"))
		})
		c.edit(t, ns, DefaultName, setTTL("2h"))
		assert.Equal(t, 2*time.Hour, s.nextChange(t).WorkloadCertTTL)
		assert.Equal(t, 2*time.Hour, src.Current().WorkloadCertTTL)
		s.noChange(t)
	})

	t.Run("an invalid edit keeps the last good configuration and records a Warning Event", func(t *testing.T) {
		ns := c.namespace(t)
		c.create(t, ns, daprsystem)
		core, logs := observer.New(zap.InfoLevel)
		src, err := New(Options{Config: c.cfg, Namespace: ns, Logger: zap.New(core), Recorder: c.recorder(t)})
		require.NoError(t, err)
		require.NoError(t, src.Load(t.Context()))
		s := start(t, src)

		c.edit(t, ns, DefaultName, setTTL("soon"))
		ev := c.warningEvent(t, ns, DefaultName)
		assert.Equal(t, ReasonInvalidConfiguration, ev.Reason)
		assert.Contains(t, ev.Message, `spec.mtls.workloadCertTTL: "soon" is not a Go duration`)
		assert.Equal(t, "dapr-sentry", ev.Source.Component)
		assert.Equal(t, 24*time.Hour, src.Current().WorkloadCertTTL, "the last good configuration stays")
		s.noChange(t)
		rejected := logs.FilterLevelExact(zap.ErrorLevel).All()
		require.Len(t, rejected, 1)
		assert.Contains(t, rejected[0].ContextMap()["error"], "spec.mtls.workloadCertTTL")

		// A later valid edit recovers.
		c.edit(t, ns, DefaultName, setTTL("30m"))
		assert.Equal(t, 30*time.Minute, s.nextChange(t).WorkloadCertTTL)
		assert.Equal(t, 30*time.Minute, src.Current().WorkloadCertTTL)
	})

	t.Run("an invalid object at start is an error wrapping config.ErrInvalid", func(t *testing.T) {
		ns := c.namespace(t)
		c.create(t, ns, strings.Replace(daprsystem, "15m", "forever", 1))
		src, err := New(Options{Config: c.cfg, Namespace: ns, Recorder: c.recorder(t)})
		require.NoError(t, err)
		err = src.Load(t.Context())
		require.ErrorIs(t, err, config.ErrInvalid)
		assert.Contains(t, err.Error(), "spec.mtls.allowedClockSkew")
		assert.Contains(t, c.warningEvent(t, ns, DefaultName).Message, "spec.mtls.allowedClockSkew")
	})

	t.Run("only the named object is watched, with get/list/watch on it alone", func(t *testing.T) {
		ns := c.namespace(t)
		_, err := c.kube.RbacV1().Roles(ns).Create(t.Context(), &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "sentry"},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{v1alpha1.GroupName}, Resources: []string{v1alpha1.Resource},
				ResourceNames: []string{"sentry-config"}, Verbs: []string{"get", "list", "watch"},
			}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = c.kube.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "sentry"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "sentry"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "sentry-" + ns}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		userCfg, _ := env.User(t, "sentry-"+ns)

		c.create(t, ns, strings.Replace(daprsystem, "name: daprsystem", "name: sentry-config", 1))
		c.create(t, ns, strings.Replace(daprsystem, "name: daprsystem", "name: other", 1))
		src, err := New(Options{Config: userCfg, Namespace: ns, Name: "sentry-config"})
		require.NoError(t, err)
		require.NoError(t, src.Load(t.Context()))
		s := start(t, src)

		c.edit(t, ns, "other", setTTL("5h"))
		c.edit(t, ns, "sentry-config", setTTL("6h"))
		assert.Equal(t, 6*time.Hour, s.nextChange(t).WorkloadCertTTL, "the other object's edit is not seen")
		s.noChange(t)
	})

	t.Run("deleting the object keeps the configuration until it is created again", func(t *testing.T) {
		ns := c.namespace(t)
		c.create(t, ns, strings.Replace(daprsystem, "24h", "4h", 1))
		src, err := New(Options{Config: c.cfg, Namespace: ns})
		require.NoError(t, err)
		require.NoError(t, src.Load(t.Context()))
		s := start(t, src)

		require.NoError(t, c.configurations(ns).Delete(t.Context(), DefaultName, metav1.DeleteOptions{}))
		c.create(t, ns, strings.Replace(daprsystem, "24h", "5h", 1))
		assert.Equal(t, 5*time.Hour, s.nextChange(t).WorkloadCertTTL)
		s.noChange(t)
	})

	t.Run("Start returns nil on cancel and refuses a second call", func(t *testing.T) {
		ns := c.namespace(t)
		src, err := New(Options{Config: c.cfg, Namespace: ns})
		require.NoError(t, err)
		s := start(t, src)
		c.create(t, ns, daprsystem)
		s.nextChange(t) // the first Start is running

		cancelled, cancel := context.WithCancel(t.Context())
		cancel()
		require.ErrorIs(t, src.Start(cancelled, nil), ErrAlreadyStarted)
		s.stop(t)
	})

	t.Run("Dapr's daprsystem objects are accepted and keep the sections trustplane does not model", func(t *testing.T) {
		ns := c.namespace(t)
		// As rendered by Dapr's Helm chart, with app-level sections added.
		c.create(t, ns, daprsystem+`  metric:
    enabled: true
  tracing:
    samplingRate: "1"
    zipkin:
      endpointAddress: http://zipkin.default.svc.cluster.local:9411/api/v2/spans
  nameResolution:
    component: mdns
    version: v1
    configuration: {selfRegister: true}
  features:
  - name: Actor.Reentrancy
    enabled: true
`)
		// As written for Dapr before 1.12: no trust domain or Sentry address.
		c.create(t, ns, `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: legacy
spec:
  mtls:
    enabled: true
    workloadCertTTL: "24h"
    allowedClockSkew: "15m"
`)
		got, err := c.configurations(ns).Get(t.Context(), DefaultName, metav1.GetOptions{})
		require.NoError(t, err)
		endpoint, _, err := unstructured.NestedString(got.Object, "spec", "tracing", "zipkin", "endpointAddress")
		require.NoError(t, err)
		assert.Equal(t, "http://zipkin.default.svc.cluster.local:9411/api/v2/spans", endpoint)
		selfRegister, _, err := unstructured.NestedBool(got.Object, "spec", "nameResolution", "configuration", "selfRegister")
		require.NoError(t, err)
		assert.True(t, selfRegister)

		src, err := New(Options{Config: c.cfg, Namespace: ns, Name: "legacy"})
		require.NoError(t, err)
		require.NoError(t, src.Load(t.Context()))
		assert.Equal(t, config.Default(), src.Current())
	})
}
