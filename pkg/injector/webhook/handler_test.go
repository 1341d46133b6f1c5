package webhook_test

import (
	"encoding/json"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/pkg/injector/webhook"
	"github.com/trustplane/trustplane/pkg/injector/webhook/fake"
)

// update is accepted so "go test ./pkg/injector/... -update" works; the
// golden files live in pkg/injector/sidecar.
var _ = flag.Bool("update", false, "rewrite golden files (none in this package)")

const (
	replicaSetController = "system:serviceaccount:kube-system:replicaset-controller"
	anchors              = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
)

func config() sidecar.Config {
	return sidecar.Config{
		ControlPlaneNamespace: "dapr-system", SidecarImage: "ghcr.io/dapr/daprd:1.16.0",
		TrustAnchors: anchors, MTLSEnabled: true,
	}
}

func secrets() *fake.Secrets {
	return fake.NewSecrets(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"},
		Data:       map[string][]byte{"token": []byte("t")},
	})
}

type fixture struct {
	h    *webhook.Handler
	reg  *prometheus.Registry
	logs *observer.ObservedLogs
}

func newFixture(t testing.TB, opts webhook.Options) fixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zapcore.DebugLevel)
	if opts.Config == nil {
		opts.Config = config
	}
	if opts.Secrets == nil {
		opts.Secrets = secrets()
	}
	opts.Registerer, opts.Logger = reg, zap.New(core)
	h, err := webhook.New(opts)
	require.NoError(t, err)
	return fixture{h: h, reg: reg, logs: logs}
}

func pod(ann map[string]string) *corev1.Pod {
	all := map[string]string{a.KeyEnabled: "true", a.KeyAppID: "orders"}
	for k, v := range ann {
		all[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "orders-", Namespace: "shop", Annotations: all},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
}

func request(t testing.TB, p *corev1.Pod, user authenticationv1.UserInfo) admission.Request {
	t.Helper()
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "uid-1",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: "shop",
		Operation: admissionv1.Create,
		UserInfo:  user,
		Object:    runtime.RawExtension{Raw: raw},
	}}
}

func sa(name string) authenticationv1.UserInfo {
	return authenticationv1.UserInfo{Username: "system:serviceaccount:" + name}
}

// failed returns dapr_injector_sidecar_injection_failed_total{reason}.
func (f fixture) failed(reason string) float64 {
	mfs, err := f.reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != "dapr_injector_sidecar_injection_failed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func (f fixture) counter(name string) float64 {
	mfs, err := f.reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

func TestHandleAuthorization(t *testing.T) {
	tests := map[string]struct {
		user     authenticationv1.UserInfo
		opts     webhook.Options
		injected bool
	}{
		"the ReplicaSet controller gets injected pods":            {user: sa("kube-system:replicaset-controller"), injected: true},
		"the Job controller gets injected pods":                   {user: sa("kube-system:job-controller"), injected: true},
		"a cluster admin (system:masters) gets injected pods":     {user: authenticationv1.UserInfo{Username: "kubernetes-admin", Groups: []string{"system:masters"}}, injected: true},
		"the controller manager's own user gets injected pods":    {user: authenticationv1.UserInfo{Username: "system:kube-controller-manager"}, injected: true},
		"a configured service account glob matches":               {user: sa("argo:argo-workflow-controller"), opts: webhook.Options{AllowedServiceAccounts: []string{"argo:*-controller"}}, injected: true},
		"a configured group glob matches":                         {user: authenticationv1.UserInfo{Username: "alice", Groups: []string{"dev:platform"}}, opts: webhook.Options{AllowedGroups: []string{"dev:*"}}, injected: true},
		"a glob on the namespace only does not match another one": {user: sa("argo-x:argo"), opts: webhook.Options{AllowedServiceAccounts: []string{"argo:*"}}},
		"an unlisted service account gets no sidecar":             {user: sa("shop:deployer")},
		"a plain user gets no sidecar":                            {user: authenticationv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			resp := f.h.Handle(t.Context(), request(t, pod(nil), tc.user))
			require.True(t, resp.Allowed, "authorization never blocks a pod")
			if tc.injected {
				assert.NotEmpty(t, resp.Patches)
				assert.Equal(t, 1.0, f.counter("dapr_injector_sidecar_injection_succeeded_total"))
				return
			}
			assert.Empty(t, resp.Patches)
			require.Len(t, resp.Warnings, 1)
			assert.Contains(t, resp.Warnings[0], "dapr sidecar not injected")
			assert.Equal(t, 1.0, f.failed(webhook.ReasonUnauthorized))
			entries := f.logs.FilterMessage("Dapr sidecar not injected: requester not allowed").All()
			require.Len(t, entries, 1)
			assert.Equal(t, tc.user.Username, entries[0].ContextMap()["user"])
			assert.Contains(t, entries[0].ContextMap()["reason"], "allow")
		})
	}
}

func TestNewRejectsBadPatterns(t *testing.T) {
	for name, opts := range map[string]webhook.Options{
		"an account without ':'":     {AllowedServiceAccounts: []string{"argo"}},
		"an account with two ':'":    {AllowedServiceAccounts: []string{"a:b:c"}},
		"an account with a bad glob": {AllowedServiceAccounts: []string{"argo:[x"}},
		"a group with a bad glob":    {AllowedGroups: []string{"[x"}},
		"an empty group":             {AllowedGroups: []string{""}},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Config, opts.Secrets = config, secrets()
			_, err := webhook.New(opts)
			assert.ErrorIs(t, err, webhook.ErrBadPattern)
		})
	}
	_, err := webhook.New(webhook.Options{Secrets: secrets()})
	assert.Error(t, err, "Config is required")
	_, err = webhook.New(webhook.Options{Config: config})
	assert.Error(t, err, "Secrets is required")
}

func TestNewFailsOnDuplicateRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := webhook.New(webhook.Options{Config: config, Secrets: secrets(), Registerer: reg})
	require.NoError(t, err)
	_, err = webhook.New(webhook.Options{Config: config, Secrets: secrets(), Registerer: reg})
	assert.Error(t, err)
}

func TestHandleTokenSecrets(t *testing.T) {
	tests := map[string]struct {
		secret   string
		warnOnly bool
		readErr  error
		allowed  bool
		says     string
	}{
		"an existing secret with key token is fine":          {secret: "api", allowed: true},
		"a missing secret is denied naming it":               {secret: "nope", says: `Secret "nope" not found in namespace "shop"; create it with key "token"`},
		"a missing secret is a warning in warn-only mode":    {secret: "nope", warnOnly: true, allowed: true, says: `Secret "nope" not found`},
		"an unreadable secret admits the pod with a warning": {secret: "api", readErr: errors.New("cache not synced"), allowed: true, says: "could not verify"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := secrets()
			s.Err = tc.readErr
			f := newFixture(t, webhook.Options{Secrets: s, WarnOnly: tc.warnOnly})
			resp := f.h.Handle(t.Context(), request(t, pod(map[string]string{a.KeyAPITokenSecret: tc.secret}), sa("kube-system:replicaset-controller")))
			assert.Equal(t, tc.allowed, resp.Allowed)
			assert.Equal(t, 1, s.Calls)
			if !tc.allowed {
				assert.Contains(t, resp.Result.Message, tc.says)
				assert.Contains(t, resp.Result.Message, a.KeyAPITokenSecret)
				assert.Equal(t, 1.0, f.failed(webhook.ReasonTokenSecret))
				return
			}
			assert.NotEmpty(t, resp.Patches)
			if tc.says != "" {
				require.Len(t, resp.Warnings, 1)
				assert.Contains(t, resp.Warnings[0], tc.says)
			} else {
				assert.Empty(t, resp.Warnings)
			}
		})
	}
}

func TestHandlePassThrough(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	ctx := t.Context()
	user := sa("kube-system:replicaset-controller")

	notPod := request(t, pod(nil), user)
	notPod.Kind.Kind = "ConfigMap"
	resp := f.h.Handle(ctx, notPod)
	assert.True(t, resp.Allowed)
	assert.Empty(t, resp.Patches)
	assert.Equal(t, 1.0, f.failed(webhook.ReasonNotPod))

	update := request(t, pod(nil), user)
	update.Operation = admissionv1.Update
	assert.Empty(t, f.h.Handle(ctx, update).Patches, "only CREATE is mutated")

	plain := pod(nil)
	delete(plain.Annotations, a.KeyEnabled)
	resp = f.h.Handle(ctx, request(t, plain, user))
	assert.True(t, resp.Allowed)
	assert.Empty(t, resp.Patches)

	bad := request(t, pod(nil), user)
	bad.Object.Raw = []byte(`{"spec": 7}`)
	resp = f.h.Handle(ctx, bad)
	assert.False(t, resp.Allowed)
	assert.EqualValues(t, 400, resp.Result.Code)
	assert.Equal(t, 1.0, f.failed(webhook.ReasonDecode))

	assert.Equal(t, 4.0, f.counter("dapr_injector_sidecar_injection_requests_total"), "every request is counted")
	assert.Equal(t, 0.0, f.counter("dapr_injector_sidecar_injection_succeeded_total"))
}

func TestHandleDeniesBadAnnotationsAndConfig(t *testing.T) {
	anchorsNow := ""
	f := newFixture(t, webhook.Options{Config: func() sidecar.Config {
		c := config()
		c.TrustAnchors = anchorsNow
		return c
	}})
	user := sa("kube-system:replicaset-controller")

	resp := f.h.Handle(t.Context(), request(t, pod(nil), user))
	assert.False(t, resp.Allowed, "no trust anchors: the injector cannot build a working sidecar")
	assert.Contains(t, resp.Result.Message, "misconfigured")
	assert.Equal(t, 1.0, f.failed(webhook.ReasonConfig))

	anchorsNow = "-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n"
	resp = f.h.Handle(t.Context(), request(t, pod(nil), user))
	require.True(t, resp.Allowed)
	raw, err := json.Marshal(resp.Patches)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "MIIBnew", "Config is read per request, so new anchors apply at once")

	resp = f.h.Handle(t.Context(), request(t, pod(map[string]string{a.KeyAppPort: "http"}), user))
	assert.False(t, resp.Allowed)
	assert.Contains(t, resp.Result.Message, a.KeyAppPort)
	assert.Equal(t, 1.0, f.failed(webhook.ReasonAnnotation))
}

func TestHandleIsReinvocationSafe(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	p := pod(nil)
	out, err := sidecar.Inject(p, config())
	require.NoError(t, err)
	resp := f.h.Handle(t.Context(), request(t, out, sa("kube-system:replicaset-controller")))
	assert.True(t, resp.Allowed)
	assert.Empty(t, resp.Patches, "an injected pod comes back unchanged")
}

func TestHandleFillsTheNamespaceFromTheRequest(t *testing.T) {
	f := newFixture(t, webhook.Options{})
	p := pod(nil)
	p.Namespace = ""
	resp := f.h.Handle(t.Context(), request(t, p, sa("kube-system:replicaset-controller")))
	require.True(t, resp.Allowed)
	raw, err := json.Marshal(resp.Patches)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `{"name":"NAMESPACE","value":"shop"}`)
	for _, op := range resp.Patches {
		assert.NotEqual(t, "/metadata/namespace", op.Path, "the namespace is not written into the pod")
	}
}

func TestHandleListsComponentsOnlyForPodsAskingForThem(t *testing.T) {
	user := sa("kube-system:replicaset-controller")
	asking := pod(map[string]string{a.KeyInjectPluggableComponents: "true"})
	kv := sidecar.DeclaredComponent{Name: "kv", Container: `{"image":"kv:1"}`}
	tests := map[string]struct {
		components  func() *fake.Components // nil: no lister
		pod         *corev1.Pod
		wantAllowed bool
		wantCalls   int
		wantMessage string
	}{
		"a pod asking gets its namespace's declared containers": {
			components: func() *fake.Components { return fake.NewComponents("shop", kv) },
			pod:        asking, wantAllowed: true, wantCalls: 1,
		},
		"a pod not asking costs no list": {
			components: func() *fake.Components { return fake.NewComponents("shop", kv) },
			pod:        pod(nil), wantAllowed: true, wantCalls: 0,
		},
		"a list that fails denies the pod with the reason": {
			components: func() *fake.Components {
				c := fake.NewComponents("shop")
				c.Err = errors.New(`components.dapr.io is forbidden: User "system:serviceaccount:dapr-system:dapr-injector" cannot list`)
				return c
			},
			pod: asking, wantCalls: 1,
			wantMessage: "dapr.io/inject-pluggable-components: cannot list the Component resources of namespace shop: components.dapr.io is forbidden",
		},
		"an injector without a lister denies a pod asking": {
			pod:         asking,
			wantMessage: "dapr.io/inject-pluggable-components: this injector is not set up to read Component resources",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var comps *fake.Components
			opts := webhook.Options{}
			if tc.components != nil {
				comps = tc.components()
				opts.Components = comps
			}
			f := newFixture(t, opts)
			resp := f.h.Handle(t.Context(), request(t, tc.pod, user))
			if comps != nil {
				assert.Equal(t, tc.wantCalls, comps.Calls)
			}
			if !tc.wantAllowed {
				require.False(t, resp.Allowed)
				assert.Contains(t, resp.Result.Message, tc.wantMessage)
				assert.Equal(t, 1.0, f.failed(webhook.ReasonComponents))
				return
			}
			require.True(t, resp.Allowed)
			raw, err := json.Marshal(resp.Patches)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCalls == 1, strings.Contains(string(raw), `"image":"kv:1"`), "the declared container is in the patch only when asked for")
		})
	}
}
