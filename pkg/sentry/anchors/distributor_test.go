package anchors

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	store "github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	"github.com/trustplane/trustplane/test/fakewatch"
)

const (
	rootsA = "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n"
	rootsB = rootsA + "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n"
)

func pod(ns, name, enabled string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{AnnotationEnabled: enabled}}}
}

func start(t *testing.T, client *fake.Clientset, logger ...*zap.Logger) *Distributor {
	t.Helper()
	opts := Options{Client: client, SentryNamespace: "dapr-system"}
	if len(logger) > 0 {
		opts.Logger = logger[0]
	}
	d, err := New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return d
}

func anchorsOf(t *testing.T, client *fake.Clientset, ns string) func() string {
	return func() string {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), ConfigMapName, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return cm.Data[RootsKey]
	}
}

func eventually(t *testing.T, want string, got func() string, msg string) {
	t.Helper()
	require.Eventually(t, func() bool { return got() == want }, 5*time.Second, 10*time.Millisecond, msg)
}

func TestDistributor(t *testing.T) {
	tests := map[string]func(t *testing.T){
		"a namespace with a Dapr pod gets the roots and follows every change": func(t *testing.T) {
			client := fake.NewClientset(pod("shop", "orders", "true"))
			d := start(t, client)
			d.SetRoots([]byte(rootsA))
			eventually(t, rootsA, anchorsOf(t, client, "shop"), "the roots are published")
			d.SetRoots([]byte(rootsB))
			eventually(t, rootsB, anchorsOf(t, client, "shop"), "the new roots replace the old")
			cm, err := client.CoreV1().ConfigMaps("shop").Get(t.Context(), ConfigMapName, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, ManagedBy, cm.Labels[LabelManagedBy])
			assert.Equal(t, RootsSHA256([]byte(rootsB)), cm.Annotations[store.AnnotationRootsSHA256])
		},
		"a namespace whose first Dapr pod arrives later is served then": func(t *testing.T) {
			client := fake.NewClientset()
			watches := fakewatch.Track(client)
			d := start(t, client)
			d.SetRoots([]byte(rootsA))
			watches.Wait(t, "pods")
			_, err := client.CoreV1().Pods("late").Create(t.Context(), pod("late", "p", "yes"), metav1.CreateOptions{})
			require.NoError(t, err)
			eventually(t, rootsA, anchorsOf(t, client, "late"), "the late namespace is served")
		},
		"namespaces without Dapr pods and Sentry's own namespace are not written": func(t *testing.T) {
			client := fake.NewClientset(pod("plain", "p", "false"), pod("dapr-system", "s", "true"), pod("shop", "o", "1"))
			d := start(t, client)
			d.SetRoots([]byte(rootsA))
			eventually(t, rootsA, anchorsOf(t, client, "shop"), "the Dapr namespace is served")
			assert.Empty(t, anchorsOf(t, client, "plain")(), "a namespace without Dapr pods gets nothing")
			assert.Empty(t, anchorsOf(t, client, "dapr-system")(), "Sentry's namespace is the store's")
		},
		"a ConfigMap Sentry did not make is left alone": func(t *testing.T) {
			theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: ConfigMapName}, Data: map[string]string{RootsKey: "mine"}}
			client := fake.NewClientset(pod("shop", "o", "true"), pod("other", "o", "true"), theirs)
			d := start(t, client)
			d.SetRoots([]byte(rootsA))
			eventually(t, rootsA, anchorsOf(t, client, "other"), "the other namespace is served")
			assert.Equal(t, "mine", anchorsOf(t, client, "shop")())
		},
		"a ConfigMap edited or deleted by someone is restored": func(t *testing.T) {
			client := fake.NewClientset(pod("shop", "o", "true"))
			watches := fakewatch.Track(client)
			d := start(t, client)
			d.SetRoots([]byte(rootsA))
			eventually(t, rootsA, anchorsOf(t, client, "shop"), "published")
			watches.Wait(t, "configmaps")
			cm, err := client.CoreV1().ConfigMaps("shop").Get(t.Context(), ConfigMapName, metav1.GetOptions{})
			require.NoError(t, err)
			cm.Data[RootsKey] = "tampered"
			_, err = client.CoreV1().ConfigMaps("shop").Update(t.Context(), cm, metav1.UpdateOptions{})
			require.NoError(t, err)
			eventually(t, rootsA, anchorsOf(t, client, "shop"), "an edit is undone")
			require.NoError(t, client.CoreV1().ConfigMaps("shop").Delete(t.Context(), ConfigMapName, metav1.DeleteOptions{}))
			eventually(t, rootsA, anchorsOf(t, client, "shop"), "a deletion is undone")
		},
	}
	for name, tc := range tests {
		t.Run(name, tc)
	}
}

func TestRefusalsAreLoggedOnce(t *testing.T) {
	forbidden := func(verb, resource string) k8stesting.ReactionFunc {
		return func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", fmt.Errorf("cannot %s", verb))
		}
	}
	tests := map[string]struct {
		verb, resource string
		want           string
	}{
		"a create RBAC refuses is one warning, then retried quietly": {"create", "configmaps", "Not allowed to publish the trust anchors"},
		"a list RBAC refuses is one warning, then retried quietly":   {"list", "configmaps", "Cannot list or watch; no trust anchors are published until it can"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset(pod("shop", "o", "true"))
			client.PrependReactor(tc.verb, tc.resource, forbidden(tc.verb, tc.resource))
			core, logs := observer.New(zap.DebugLevel)
			d := start(t, client, zap.New(core))
			d.SetRoots([]byte(rootsA))
			require.Eventually(t, func() bool { return logs.FilterMessageSnippet(tc.want).Len() > 0 }, 5*time.Second, 10*time.Millisecond)
			require.Eventually(t, func() bool { return logs.FilterLevelExact(zap.DebugLevel).Len() >= 2 }, 10*time.Second, 10*time.Millisecond,
				"retried")
			warnings := logs.FilterLevelExact(zap.WarnLevel).All()
			require.Len(t, warnings, 1, "one warning")
			assert.Contains(t, warnings[0].Message, tc.want)
			assert.NotEmpty(t, warnings[0].ContextMap()["needs"], "names the rule")
		})
	}
}

func TestOptedIn(t *testing.T) {
	tests := map[string]struct {
		ann  map[string]string
		want bool
	}{
		"true is opted in":            {map[string]string{AnnotationEnabled: "true"}, true},
		"yes in capitals is opted in": {map[string]string{AnnotationEnabled: " YES "}, true},
		"false is not":                {map[string]string{AnnotationEnabled: "false"}, false},
		"no annotation is not":        {nil, false},
		"garbage is not opted in":     {map[string]string{AnnotationEnabled: "maybe"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { assert.Equal(t, tc.want, OptedIn(tc.ann)) })
	}
}

func TestNewRequiresClientAndNamespace(t *testing.T) {
	_, err := New(Options{SentryNamespace: "x"})
	require.Error(t, err)
	_, err = New(Options{Client: fake.NewClientset()})
	require.Error(t, err)
}
