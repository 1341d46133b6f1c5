package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// object is a Configuration named name in ns with spec.mtls set to mtls
// (no spec.mtls when nil).
func object(ns, name string, mtls map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.APIVersion,
		"kind":       v1alpha1.Kind,
		"metadata":   map[string]any{"name": name, "namespace": ns, "resourceVersion": "1"},
		"spec":       map[string]any{"tracing": map[string]any{"samplingRate": "1"}},
	}}
	if mtls != nil {
		u.Object["spec"].(map[string]any)["mtls"] = mtls
	}
	return u
}

func fakeClient(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.GroupVersionResource: v1alpha1.ListKind}, objs...)
}

func TestNewChecksOptions(t *testing.T) {
	tests := map[string]struct {
		opts Options
		want string
	}{
		"a namespace is required":      {opts: Options{Client: fakeClient()}, want: "Namespace is required"},
		"a client or config is needed": {opts: Options{Namespace: "ns"}, want: "Client or Config is required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	t.Run("a rest config is enough and the name defaults to daprsystem", func(t *testing.T) {
		s, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Namespace: "ns"})
		require.NoError(t, err)
		assert.Equal(t, DefaultName, s.opts.Name)
		assert.Equal(t, config.Default(), s.Current(), "Current is the default before any read")
	})
}

func TestDecode(t *testing.T) {
	tests := map[string]struct {
		mtls    map[string]any
		want    config.Config
		errPath string
	}{
		"an object without spec.mtls gives the defaults": {
			want: config.Default(),
		},
		"durations and enabled are read": {
			mtls: map[string]any{"enabled": false, "workloadCertTTL": "1h", "allowedClockSkew": "1m"},
			want: config.Config{WorkloadCertTTL: time.Hour, AllowedClockSkew: time.Minute},
		},
		"a duration that does not parse names its field": {
			mtls:    map[string]any{"enabled": true, "workloadCertTTL": "soon"},
			errPath: "spec.mtls.workloadCertTTL",
		},
		"a number where a duration string belongs names its field": {
			mtls:    map[string]any{"enabled": true, "allowedClockSkew": int64(60)},
			errPath: "spec.mtls.allowedClockSkew",
		},
		"an unsupported token validator names its entry": {
			mtls:    map[string]any{"enabled": true, "tokenValidators": []any{map[string]any{"name": "oidc"}}},
			errPath: "spec.mtls.tokenValidators[0].name",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := decode(object("ns", "daprsystem", tc.mtls))
			if tc.errPath == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			require.ErrorIs(t, err, config.ErrInvalid)
			var fe *config.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.errPath, fe.Path)
		})
	}
}

func TestLoadWithFakeClient(t *testing.T) {
	t.Run("a missing object gives the defaults and a warning", func(t *testing.T) {
		core, logs := observer.New(zap.DebugLevel)
		s, err := New(Options{Client: fakeClient(), Namespace: "ns", Logger: zap.New(core)})
		require.NoError(t, err)
		require.NoError(t, s.Load(t.Context()))
		assert.Equal(t, config.Default(), s.Current())
		assert.Equal(t, 1, logs.FilterLevelExact(zap.WarnLevel).FilterMessageSnippet("not found").Len())
	})

	t.Run("a valid object becomes Current", func(t *testing.T) {
		s, err := New(Options{Client: fakeClient(object("ns", "custom", map[string]any{"enabled": true, "workloadCertTTL": "2h"})),
			Namespace: "ns", Name: "custom"})
		require.NoError(t, err)
		require.NoError(t, s.Load(t.Context()))
		assert.Equal(t, 2*time.Hour, s.Current().WorkloadCertTTL)
	})

	t.Run("an invalid object is an error, logged and recorded as a Warning Event", func(t *testing.T) {
		core, logs := observer.New(zap.DebugLevel)
		rec := record.NewFakeRecorder(4)
		s, err := New(Options{Client: fakeClient(object("ns", DefaultName, map[string]any{"enabled": true, "workloadCertTTL": "soon"})),
			Namespace: "ns", Logger: zap.New(core), Recorder: rec})
		require.NoError(t, err)
		err = s.Load(t.Context())
		require.ErrorIs(t, err, config.ErrInvalid)
		assert.Contains(t, err.Error(), "spec.mtls.workloadCertTTL")
		assert.Equal(t, config.Default(), s.Current())

		errLogs := logs.FilterLevelExact(zap.ErrorLevel).All()
		require.Len(t, errLogs, 1)
		assert.Contains(t, errLogs[0].ContextMap()["error"], "spec.mtls.workloadCertTTL")
		require.Len(t, rec.Events, 1)
		ev := <-rec.Events
		assert.True(t, strings.HasPrefix(ev, "Warning "+ReasonInvalidConfiguration+" "), ev)
		assert.Contains(t, ev, `spec.mtls.workloadCertTTL: "soon" is not a Go duration`)
	})

	t.Run("an API error other than not found is returned", func(t *testing.T) {
		c := fakeClient()
		c.PrependReactor("get", v1alpha1.Resource, func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(v1alpha1.GroupVersionResource.GroupResource(), DefaultName, errors.New("no RBAC"))
		})
		s, err := New(Options{Client: c, Namespace: "ns"})
		require.NoError(t, err)
		err = s.Load(t.Context())
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err), "the API error is wrapped: %v", err)
		assert.NotErrorIs(t, err, config.ErrInvalid)
	})
}

func TestApplySkipsVersionsAlreadySeen(t *testing.T) {
	rec := record.NewFakeRecorder(4)
	s, err := New(Options{Client: fakeClient(), Namespace: "ns", Recorder: rec})
	require.NoError(t, err)
	bad := object("ns", DefaultName, map[string]any{"enabled": true, "workloadCertTTL": "soon"})

	_, err = s.apply(bad, false)
	require.ErrorIs(t, err, config.ErrInvalid)
	cfg, err := s.apply(bad.DeepCopy(), false)
	require.NoError(t, err, "a relist of the same resourceVersion is not checked again")
	assert.Nil(t, cfg)
	assert.Len(t, rec.Events, 1, "one Event per rejected version")

	good := object("ns", DefaultName, map[string]any{"enabled": true, "workloadCertTTL": "3h"})
	good.SetResourceVersion("2")
	cfg, err = s.apply(good, false)
	require.NoError(t, err)
	require.NotNil(t, cfg)
	assert.Equal(t, 3*time.Hour, cfg.WorkloadCertTTL)

	same := good.DeepCopy()
	same.SetResourceVersion("3")
	same.SetLabels(map[string]string{"edited": "yes"})
	cfg, err = s.apply(same, false)
	require.NoError(t, err)
	assert.Nil(t, cfg, "an edit that leaves spec.mtls alone changes nothing")
}

func TestEventMessageIsBounded(t *testing.T) {
	rec := record.NewFakeRecorder(1)
	s, err := New(Options{Client: fakeClient(), Namespace: "ns", Recorder: rec})
	require.NoError(t, err)
	s.warn(object("ns", DefaultName, nil), errors.New(strings.Repeat("é", 2*maxEventMessage)))
	ev := <-rec.Events
	msg := strings.TrimPrefix(ev, "Warning "+ReasonInvalidConfiguration+" ")
	assert.LessOrEqual(t, len(msg), maxEventMessage)
	assert.True(t, strings.HasSuffix(msg, "..."))
	assert.True(t, strings.ToValidUTF8(msg, "?") == msg, "cut on a rune boundary")
}

func TestAForbiddenWatchIsOneWarning(t *testing.T) {
	client := fakeClient()
	client.PrependReactor("list", "configurations", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(v1alpha1.GroupVersionResource.GroupResource(), "", errors.New("no rule"))
	})
	core, logs := observer.New(zap.DebugLevel)
	s, err := New(Options{Client: client, Namespace: "dapr-system", Logger: zap.New(core)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx, nil) }()
	require.Eventually(t, func() bool { return logs.FilterMessage("Watching the Configuration failed again; retrying").Len() > 0 },
		10*time.Second, 10*time.Millisecond, "the informer retried")
	cancel()
	require.NoError(t, <-done)
	warnings := logs.FilterMessage("Watching the Configuration failed; retrying").All()
	require.Len(t, warnings, 1, "one warning, not one per retry")
	assert.Equal(t, "list, watch on configurations.dapr.io named daprsystem in namespace dapr-system", warnings[0].ContextMap()["needs"])
}
