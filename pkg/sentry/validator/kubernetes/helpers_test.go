package kubernetes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	authnv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/test/fakewatch"
)

var (
	cpTD     = spiffeid.RequireTrustDomainFromString("cluster.local")
	sentryID = spiffeid.RequireFromString("spiffe://cluster.local/ns/dapr-system/dapr-sentry")
	epoch    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

// fakeJWT returns a token-shaped string for Sentry's audience whose
// payload expires at exp (no "exp" when exp is zero). Only the fake
// apiserver "verifies" it.
func fakeJWT(name string, exp time.Time) string {
	claims := map[string]any{"sub": name, "aud": []string{sentryID.String()}}
	if !exp.IsZero() {
		claims["exp"] = exp.Unix()
	}
	return jwtOf(`{"alg":"RS256"}`, claims)
}

// jwtOf encodes header and the JSON of claims as a compact JWS with a
// dummy signature.
func jwtOf(header string, claims any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc(payload) + "." + enc([]byte("sig"))
}

// boundUser is the user a pod-bound token of sa authenticates as.
func boundUser(ns, sa, pod string, uid types.UID) authnv1.UserInfo {
	return authnv1.UserInfo{
		Username: "system:serviceaccount:" + ns + ":" + sa,
		Extra: map[string]authnv1.ExtraValue{
			ExtraPodName: {pod},
			ExtraPodUID:  {string(uid)},
		},
	}
}

// okStatus is a successful review of user for Sentry's audience.
func okStatus(user authnv1.UserInfo) authnv1.TokenReviewStatus {
	return authnv1.TokenReviewStatus{Authenticated: true, User: user, Audiences: []string{sentryID.String()}}
}

func newPod(ns, name, sa string, uid types.UID, ann map[string]string) *corev1.Pod {
	p := &corev1.Pod{}
	p.Namespace, p.Name, p.UID, p.Annotations = ns, name, uid, ann
	p.Spec.ServiceAccountName = sa
	return p
}

func newConfiguration(ns, name, td string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion("dapr.io/v1alpha1")
	u.SetKind("Configuration")
	u.SetNamespace(ns)
	u.SetName(name)
	if td != "" {
		_ = unstructured.SetNestedField(u.Object, td, "spec", "accessControl", "trustDomain")
	}
	_ = unstructured.SetNestedField(u.Object, true, "spec", "mtls", "enabled")
	return u
}

// harness is a started Validator over fake clients.
type harness struct {
	v        *Validator
	client   *fake.Clientset
	watches  *fakewatch.Watches
	clock    *clocktesting.FakeClock
	reg      *prometheus.Registry
	mu       sync.Mutex
	statuses map[string]authnv1.TokenReviewStatus // by token
	apiErr   error
	calls    atomic.Int64

	// release, when set, holds every TokenReview create until it is
	// closed (or the call's context ends); inFlight counts the creates
	// under way and maxInFlight the most there were at once.
	release     chan struct{}
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

// hold makes TokenReview creates wait until the returned function is
// called.
func (h *harness) hold() (release func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.release = ch
	h.mu.Unlock()
	return sync.OnceFunc(func() { close(ch) })
}

// enter waits while creates are held; leave ends what enter began.
func (h *harness) enter(ctx context.Context) error {
	n := h.inFlight.Add(1)
	for {
		m := h.maxInFlight.Load()
		if n <= m || h.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	h.mu.Lock()
	ch := h.release
	h.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *harness) leave() { h.inFlight.Add(-1) }

// reviewClient is the fake clientset whose TokenReview creates pass
// harness.enter first: outside the fake's lock, which serializes its
// reactors, so that tests can hold several reviews in flight at once.
type reviewClient struct {
	*fake.Clientset
	h *harness
}

func (c reviewClient) AuthenticationV1() authnv1client.AuthenticationV1Interface {
	return reviewAuthn{c.Clientset.AuthenticationV1(), c.h}
}

type reviewAuthn struct {
	authnv1client.AuthenticationV1Interface
	h *harness
}

func (a reviewAuthn) TokenReviews() authnv1client.TokenReviewInterface {
	return gatedReviews{a.AuthenticationV1Interface.TokenReviews(), a.h}
}

type gatedReviews struct {
	authnv1client.TokenReviewInterface
	h *harness
}

func (r gatedReviews) Create(ctx context.Context, tr *authnv1.TokenReview, opts metav1.CreateOptions) (*authnv1.TokenReview, error) {
	defer r.h.leave()
	if err := r.h.enter(ctx); err != nil {
		return nil, err
	}
	return r.TokenReviewInterface.Create(ctx, tr, opts)
}

// setStatus makes the fake apiserver answer token's review with st.
func (h *harness) setStatus(token string, st authnv1.TokenReviewStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses[token] = st
}

func (h *harness) setAPIError(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.apiErr = err
}

// start builds and starts a Validator over fake clients holding objs (pods)
// and configs; edit adjusts its Options.
func start(t *testing.T, pods []*corev1.Pod, configs []*unstructured.Unstructured, edit ...func(*Options)) *harness {
	t.Helper()
	h := &harness{
		clock:    clocktesting.NewFakeClock(epoch),
		reg:      prometheus.NewRegistry(),
		statuses: map[string]authnv1.TokenReviewStatus{},
	}
	objs := make([]runtime.Object, 0, len(pods))
	for _, p := range pods {
		objs = append(objs, p)
	}
	h.client = fake.NewClientset(objs...)
	h.watches = fakewatch.Track(h.client)
	h.client.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		h.calls.Add(1)
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview).DeepCopy()
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.apiErr != nil {
			return true, nil, h.apiErr
		}
		if st, ok := h.statuses[tr.Spec.Token]; ok {
			tr.Status = st
		} else {
			tr.Status = authnv1.TokenReviewStatus{Error: "unknown token"}
		}
		return true, tr, nil
	})
	cfgObjs := make([]runtime.Object, 0, len(configs))
	for _, c := range configs {
		cfgObjs = append(cfgObjs, c)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ConfigurationResource: "ConfigurationList"}, cfgObjs...)
	opts := Options{Client: reviewClient{h.client, h}, Dynamic: dyn, SentryID: sentryID, Clock: h.clock, Registerer: h.reg}
	for _, e := range edit {
		e(&opts)
	}
	v, err := New(opts)
	require.NoError(t, err)
	h.v = v
	runValidator(t, v)
	return h
}

// runValidator starts v until the test ends and waits until it is ready.
func runValidator(t *testing.T, v *Validator) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- v.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, v.Ready, 30*time.Second, 5*time.Millisecond, "validator never became ready")
}

// counter reads a counter of reg, the one whose result (or reason) label
// is value when value is not empty; 0 if absent.
func counter(t *testing.T, reg prometheus.Gatherer, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if value == "" || labelIs(m, "result", value) || labelIs(m, "reason", value) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
