package rotate

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/pkg/sentry/anchors"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/pkg/spiffe"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

const ns = "dapr-system"

type fixture struct {
	kube  *fake.Clientset
	c     *cluster.Client
	clock *clocktesting.FakeClock
	r     *Rotator
}

func generate(t *testing.T, now time.Time) *bundle.Bundle {
	t.Helper()
	td, err := spiffe.TrustDomain("cluster.local")
	require.NoError(t, err)
	b, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: td, Namespace: ns, Now: now, RootTTL: 365 * 24 * time.Hour, IssuerTTL: 365 * 24 * time.Hour})
	require.NoError(t, err)
	return b
}

func newFixture(t *testing.T) (*fixture, *bundle.Bundle) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	old := generate(t, clk.Now())
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.SecretName},
		Data:       map[string][]byte{cluster.RootKey: old.RootsPEM, cluster.IssuerKey: old.IssuerChainPEM, cluster.KeyKey: old.IssuerKeyPEM},
	}, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders", Annotations: map[string]string{anchors.AnnotationEnabled: "true"}}})
	c, err := cluster.New(cluster.Options{Kube: kube, Dynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())})
	require.NoError(t, err)
	cfg := config.Default()
	cfg.WorkloadCertTTL, cfg.AllowedClockSkew = time.Hour, time.Minute
	r, err := New(Options{Client: c, Install: &cluster.Install{Namespace: ns, Config: cfg}, Clock: clk, PropagationDelay: 2 * time.Minute})
	require.NoError(t, err)
	return &fixture{kube: kube, c: c, clock: clk, r: r}, old
}

func (f *fixture) read(t *testing.T) *cluster.TrustBundle {
	t.Helper()
	tb, err := f.c.ReadBundle(t.Context(), ns)
	require.NoError(t, err)
	return tb
}

// publish plays Sentry's distributor in namespace shop.
func (f *fixture) publish(t *testing.T, ctx context.Context, roots []byte) {
	t.Helper()
	cms := f.kube.CoreV1().ConfigMaps("shop")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: anchors.ConfigMapName}, Data: map[string]string{anchors.RootsKey: string(roots)}}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		require.NoError(t, err)
	}
}

func TestRotationRunsThreePhasesAndEachWaitsForTheLast(t *testing.T) {
	f, old := newFixture(t)
	ctx := t.Context()
	nb := generate(t, f.clock.Now())

	st, err := f.r.Status(ctx, f.read(t))
	require.NoError(t, err)
	assert.Equal(t, StepAddRoot, st.Next)
	assert.True(t, st.Ready)
	require.ErrorIs(t, f.r.SwitchIssuer(ctx, f.read(t)), ErrWrongPhase, "switch-issuer before add-root")
	require.ErrorIs(t, f.r.RemoveOldRoot(ctx, f.read(t)), ErrWrongPhase, "remove-old-root before add-root")

	// Phase 1.
	require.NoError(t, f.r.AddRoot(ctx, f.read(t), nb))
	tb := f.read(t)
	require.Len(t, tb.Bundle.Roots, 2, "both roots are trusted")
	assert.True(t, tb.Bundle.Issuer().Equal(old.Issuer()), "the old issuer still signs")
	assert.Equal(t, string(tb.Bundle.RootsPEM), string(tb.PublishedRoots()), "Sentry's ConfigMap holds both roots")
	require.ErrorIs(t, f.r.AddRoot(ctx, tb, generate(t, f.clock.Now())), ErrWrongPhase, "no second rotation meanwhile")

	err = f.r.SwitchIssuer(ctx, tb)
	require.ErrorIs(t, err, ErrNotReady)
	assert.Contains(t, err.Error(), "shop (absent)", "the namespace without anchors is named")
	assert.Contains(t, err.Error(), "wait 2m0s")

	f.publish(t, ctx, old.RootsPEM)
	f.clock.Step(3 * time.Minute)
	err = f.r.SwitchIssuer(ctx, f.read(t))
	require.ErrorIs(t, err, ErrNotReady, "anchors with only the old root are not enough")
	assert.Contains(t, err.Error(), "shop (lacks root")

	f.publish(t, ctx, tb.Bundle.RootsPEM)
	st, err = f.r.Status(ctx, f.read(t))
	require.NoError(t, err)
	assert.Equal(t, StepSwitchIssuer, st.Next)
	assert.True(t, st.Ready, "%+v", st.Checks)

	// Phase 2.
	require.NoError(t, f.r.SwitchIssuer(ctx, f.read(t)))
	tb = f.read(t)
	assert.True(t, tb.Bundle.Issuer().Equal(nb.Issuer()), "the new issuer signs")
	assert.NotContains(t, tb.Secret.Data, PendingIssuerKey)
	assert.Len(t, tb.Bundle.Roots, 2)
	err = f.r.RemoveOldRoot(ctx, tb)
	require.ErrorIs(t, err, ErrNotReady)
	assert.Contains(t, err.Error(), "wait 1h1m0s", "old leaves live workloadCertTTL + allowedClockSkew")

	f.clock.Step(time.Hour + time.Minute)
	// Phase 3.
	require.NoError(t, f.r.RemoveOldRoot(ctx, f.read(t)))
	tb = f.read(t)
	require.Len(t, tb.Bundle.Roots, 1)
	assert.True(t, tb.Bundle.Roots[0].Equal(nb.Roots[0]), "only the new root remains")
	assert.Equal(t, string(tb.Bundle.RootsPEM), string(tb.PublishedRoots()))
	state, err := StateOf(tb.Secret)
	require.NoError(t, err)
	assert.Equal(t, PhaseComplete, state.Phase)
	assert.Equal(t, 61*time.Minute, state.MaxLeafLifetime)

	st, err = f.r.Status(ctx, tb)
	require.NoError(t, err)
	assert.Equal(t, StepAddRoot, st.Next, "a finished rotation allows the next")
	assert.False(t, st.Anchors[1].Current, "shop still holds the old root until Sentry updates it")
}

func TestStateOf(t *testing.T) {
	tests := map[string]struct {
		ann     map[string]string
		wantErr bool
		want    State
	}{
		"no annotations is no rotation": {nil, false, State{}},
		"an unknown phase is refused":   {map[string]string{AnnotationPhase: "half-done"}, true, State{}},
		"a bad time is refused":         {map[string]string{AnnotationPhase: "root-added", AnnotationRootAddedAt: "yesterday"}, true, State{}},
		"a bad lifetime is refused":     {map[string]string{AnnotationMaxLeafLifetime: "long"}, true, State{}},
		"a recorded phase is read back": {
			map[string]string{AnnotationPhase: "issuer-switched", AnnotationIssuerSwitchedAt: "2026-01-01T00:00:00Z", AnnotationOldRoots: "a,b", AnnotationMaxLeafLifetime: "1h"},
			false,
			State{Phase: PhaseIssuerSwitched, IssuerSwitchedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), OldRoots: []string{"a", "b"}, MaxLeafLifetime: time.Hour},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := StateOf(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Annotations: tc.ann}})
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			sec := &corev1.Secret{}
			got.annotate(sec)
			back, err := StateOf(sec)
			require.NoError(t, err)
			assert.Equal(t, got, back, "annotate and StateOf round-trip")
		})
	}
}

func FuzzStateOf(f *testing.F) {
	f.Add("root-added", "2026-01-01T00:00:00Z", "1h", "a,b")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, phase, at, life, roots string) {
		_, _ = StateOf(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
			AnnotationPhase: phase, AnnotationRootAddedAt: at, AnnotationMaxLeafLifetime: life, AnnotationOldRoots: roots,
		}}})
	})
}

// daprd (Dapr v1.18) reads DAPR_TRUST_ANCHORS once, at pod start: a daprd
// older than the new root would refuse everything signed under it.
func TestSwitchIssuerWaitsUntilNoDaprdIsOlderThanTheNewRoot(t *testing.T) {
	f, _ := newFixture(t)
	ctx := t.Context()
	daprd := func(name string, created time.Time) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{"dapr.io/sidecar-injected": "true"}}}
	}
	pods := f.kube.CoreV1().Pods("shop")
	_, err := pods.Create(ctx, daprd("orders-old", f.clock.Now().Add(-time.Hour)), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "no-sidecar",
		CreationTimestamp: metav1.NewTime(f.clock.Now().Add(-time.Hour))}}, metav1.CreateOptions{})
	require.NoError(t, err)

	require.NoError(t, f.r.AddRoot(ctx, f.read(t), generate(t, f.clock.Now())))
	tb := f.read(t)
	f.publish(t, ctx, tb.Bundle.RootsPEM)
	f.clock.Step(3 * time.Minute)

	err = f.r.SwitchIssuer(ctx, f.read(t))
	require.ErrorIs(t, err, ErrNotReady, "a daprd that predates the new root does not trust it")
	assert.Contains(t, err.Error(), "1 pods with daprd are older than the new root (shop/orders-old)")
	assert.Contains(t, err.Error(), "trustctl mtls rotate-root restart-apps")
	assert.NotContains(t, err.Error(), "no-sidecar", "a pod without daprd is not waited on")

	// The Deployment's rollout replaces the pod.
	require.NoError(t, pods.Delete(ctx, "orders-old", metav1.DeleteOptions{}))
	_, err = pods.Create(ctx, daprd("orders-new", f.clock.Now()), metav1.CreateOptions{})
	require.NoError(t, err)
	st, err := f.r.Status(ctx, f.read(t))
	require.NoError(t, err)
	assert.True(t, st.Ready, "%+v", st.Checks)
	require.NoError(t, f.r.SwitchIssuer(ctx, f.read(t)))
}
