package jwtrotate

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

const ns = "dapr-system"

type fixture struct {
	kube  *fake.Clientset
	c     *cluster.Client
	clock *clocktesting.FakeClock
	r     *Rotator
	old   *jwt.Material
}

func newFixture(t *testing.T, alg jwa.SignatureAlgorithm) *fixture {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	old, err := jwt.Generate(jwt.GenerateOptions{Algorithm: alg})
	require.NoError(t, err)
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.SecretName, ResourceVersion: "1"},
		Data:       map[string][]byte{KeyKey: old.KeyPEM, JWKSKey: old.JWKSJSON},
	}, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cluster.ConfigMapName, ResourceVersion: "1"},
		Data:       map[string]string{JWKSKey: string(old.PublicJWKS())},
	})
	kube.PrependReactor("update", "secrets", resourceVersions(kube))
	c, err := cluster.New(cluster.Options{Kube: kube, Dynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())})
	require.NoError(t, err)
	f := &fixture{kube: kube, c: c, clock: clk, old: old}
	f.rotator(t, 24*time.Hour, time.Hour)
	return f
}

// rotator makes f.r with daprsystem's workloadCertTTL certTTL (skew one
// minute) and --jwt-ttl jwtTTL (0: not given).
func (f *fixture) rotator(t *testing.T, certTTL, jwtTTL time.Duration) {
	t.Helper()
	cfg := config.Default()
	cfg.WorkloadCertTTL, cfg.AllowedClockSkew = certTTL, time.Minute
	r, err := New(Options{Client: f.c, Install: &cluster.Install{Namespace: ns, Config: cfg}, Clock: f.clock, JWTTTL: jwtTTL})
	require.NoError(t, err)
	f.r = r
}

// switched runs add-key and switch-signing as soon as each may run.
func (f *fixture) switched(t *testing.T) {
	t.Helper()
	require.NoError(t, f.r.AddKey(t.Context(), f.read(t), ""))
	f.publish(t)
	f.clock.Step(DefaultPropagationDelay)
	require.NoError(t, f.r.SwitchSigning(t.Context(), f.read(t)))
	f.publish(t)
}

// resourceVersions makes Secret updates check and bump resourceVersion, as
// the apiserver does.
func resourceVersions(kube *fake.Clientset) k8stesting.ReactionFunc {
	return func(a k8stesting.Action) (bool, runtime.Object, error) {
		sec := a.(k8stesting.UpdateAction).GetObject().(*corev1.Secret)
		cur, err := kube.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), sec.Namespace, sec.Name)
		if err != nil {
			return true, nil, err
		}
		rv := cur.(*corev1.Secret).ResourceVersion
		if sec.ResourceVersion != rv {
			return true, nil, apierrors.NewConflict(corev1.Resource("secrets"), sec.Name, errors.New("resourceVersion changed"))
		}
		n, _ := strconv.Atoi(rv)
		sec.ResourceVersion = strconv.Itoa(n + 1)
		return false, nil, nil
	}
}

func (f *fixture) read(t *testing.T) *cluster.TrustBundle {
	t.Helper()
	tb, err := f.c.ReadBundle(t.Context(), ns)
	require.NoError(t, err)
	return tb
}

// publish plays Sentry: the ConfigMap gets the Secret's key set.
func (f *fixture) publish(t *testing.T) {
	t.Helper()
	tb := f.read(t)
	m, err := jwt.ParseMaterial(tb.Secret.Data[KeyKey], tb.Secret.Data[JWKSKey], jwt.ParseOptions{})
	require.NoError(t, err)
	cm := tb.ConfigMap.DeepCopy()
	cm.Data[JWKSKey] = string(m.PublicJWKS())
	_, err = f.kube.CoreV1().ConfigMaps(ns).Update(t.Context(), cm, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func (f *fixture) status(t *testing.T) *Status {
	t.Helper()
	s, err := f.r.Status(t.Context(), f.read(t))
	require.NoError(t, err)
	return s
}

func TestRotationRunsThreePhasesAndEachWaitsForTheLast(t *testing.T) {
	f := newFixture(t, jwa.ES256)
	ctx := t.Context()
	s := f.status(t)
	assert.Equal(t, StepAddKey, s.Next)
	assert.True(t, s.Ready)
	assert.Equal(t, f.old.KeyID, s.SigningKeyID)

	require.NoError(t, f.r.AddKey(ctx, f.read(t), ""))
	tb := f.read(t)
	assert.Equal(t, f.old.KeyPEM, tb.Secret.Data[KeyKey], "the old key still signs")
	require.NotEmpty(t, tb.Secret.Data[PendingKeyKey])
	m, err := jwt.ParseMaterial(tb.Secret.Data[KeyKey], tb.Secret.Data[JWKSKey], jwt.ParseOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, m.Keys(), "both keys are in the key set")
	pending, err := jwt.ParseMaterial(tb.Secret.Data[PendingKeyKey], tb.Secret.Data[JWKSKey], jwt.ParseOptions{})
	require.NoError(t, err)
	assert.Equal(t, jwa.ES256, pending.Algorithm, "the new key has the old one's algorithm")
	assert.NotEqual(t, f.old.KeyID, pending.KeyID)

	s = f.status(t)
	require.Len(t, s.Keys, 2)
	roles := map[string]Key{}
	for _, k := range s.Keys {
		roles[k.Role] = k
	}
	assert.Equal(t, f.old.KeyID, roles["signing"].KeyID)
	assert.True(t, roles["signing"].Published)
	assert.Equal(t, pending.KeyID, roles["pending"].KeyID)
	assert.False(t, roles["pending"].Published, "Sentry has not published it yet")
	assert.False(t, s.Ready)

	err = f.r.SwitchSigning(ctx, f.read(t))
	require.ErrorIs(t, err, ErrNotReady)
	assert.Contains(t, err.Error(), "the published key set holds the new key")
	f.publish(t)
	err = f.r.SwitchSigning(ctx, f.read(t))
	require.ErrorIs(t, err, ErrNotReady, "the propagation delay has not passed")
	assert.NotContains(t, err.Error(), "the published key set holds the new key")
	assert.Equal(t, f.old.KeyPEM, f.read(t).Secret.Data[KeyKey], "a refused step writes nothing")

	f.clock.Step(DefaultPropagationDelay)
	s = f.status(t)
	assert.Equal(t, StepSwitchSigning, s.Next)
	assert.True(t, s.Ready, "%+v", s.Checks)
	require.NoError(t, f.r.SwitchSigning(ctx, f.read(t)))
	tb = f.read(t)
	assert.Equal(t, pending.KeyPEM, tb.Secret.Data[KeyKey], "the new key signs")
	assert.NotContains(t, tb.Secret.Data, PendingKeyKey)
	f.publish(t)

	err = f.r.RetireOldKey(ctx, f.read(t))
	require.ErrorIs(t, err, ErrNotReady)
	assert.Contains(t, err.Error(), "every token signed with the old key has expired")
	f.clock.Step(time.Hour)
	require.ErrorIs(t, f.r.RetireOldKey(ctx, f.read(t)), ErrNotReady, "the clock skew counts too")
	f.clock.Step(time.Minute)
	require.NoError(t, f.r.RetireOldKey(ctx, f.read(t)))
	tb = f.read(t)
	m, err = jwt.ParseMaterial(tb.Secret.Data[KeyKey], tb.Secret.Data[JWKSKey], jwt.ParseOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, m.Keys(), "only the new key is left")
	assert.Equal(t, pending.KeyID, m.KeyID)

	s = f.status(t)
	assert.Equal(t, PhaseComplete, s.State.Phase)
	assert.Equal(t, StepAddKey, s.Next, "another rotation may start")
}

// No token outlives its certificate: retire-old-key waits for the
// certificate TTL (the longer of the one at the switch and now) or, when
// shorter, the --jwt-ttl given, plus the clock skew.
func TestRetireOldKeyWaitsForTheLongestTokenLifetime(t *testing.T) {
	tests := map[string]struct {
		certTTL, jwtTTL time.Duration
		certTTLAfter    time.Duration // daprsystem's workloadCertTTL at retire-old-key
		wait            time.Duration // without the minute of skew
	}{
		"without --jwt-ttl the certificate TTL bounds the tokens":              {certTTL: 2 * time.Hour, certTTLAfter: 2 * time.Hour, wait: 2 * time.Hour},
		"a shorter --jwt-ttl shortens the wait":                                {certTTL: 2 * time.Hour, jwtTTL: 30 * time.Minute, certTTLAfter: 2 * time.Hour, wait: 30 * time.Minute},
		"a --jwt-ttl longer than the certificate TTL does not lengthen it":     {certTTL: 2 * time.Hour, jwtTTL: 48 * time.Hour, certTTLAfter: 2 * time.Hour, wait: 2 * time.Hour},
		"a certificate TTL lowered after the switch still waits the old one":   {certTTL: 2 * time.Hour, certTTLAfter: 10 * time.Minute, wait: 2 * time.Hour},
		"a certificate TTL raised after the switch waits the new one (safely)": {certTTL: 10 * time.Minute, certTTLAfter: time.Hour, wait: time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, jwa.ES256)
			f.rotator(t, tc.certTTL, tc.jwtTTL)
			f.switched(t)
			f.rotator(t, tc.certTTLAfter, tc.jwtTTL)
			f.clock.Step(tc.wait)
			require.ErrorIs(t, f.r.RetireOldKey(t.Context(), f.read(t)), ErrNotReady, "the skew is still to wait")
			f.clock.Step(time.Minute)
			require.NoError(t, f.r.RetireOldKey(t.Context(), f.read(t)))
		})
	}
}

func TestStepsRefuseOutOfOrder(t *testing.T) {
	tests := map[string]func(f *fixture) error{
		"switch-signing before add-key is refused": func(f *fixture) error { return f.r.SwitchSigning(t.Context(), f.read(t)) },
		"retire-old-key before add-key is refused": func(f *fixture) error { return f.r.RetireOldKey(t.Context(), f.read(t)) },
		"a second add-key is refused": func(f *fixture) error {
			require.NoError(t, f.r.AddKey(t.Context(), f.read(t), ""))
			return f.r.AddKey(t.Context(), f.read(t), "")
		},
	}
	for name, step := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, jwa.ES256)
			require.ErrorIs(t, step(f), ErrWrongPhase)
		})
	}
}

func TestAddKeyTakesAnotherAlgorithmWhenAsked(t *testing.T) {
	f := newFixture(t, jwa.ES256)
	require.NoError(t, f.r.AddKey(t.Context(), f.read(t), jwa.EdDSA))
	tb := f.read(t)
	m, err := jwt.ParseMaterial(tb.Secret.Data[PendingKeyKey], tb.Secret.Data[JWKSKey], jwt.ParseOptions{})
	require.NoError(t, err)
	assert.Equal(t, jwa.EdDSA, m.Algorithm)
	require.Error(t, f.r.AddKey(t.Context(), newFixture(t, jwa.ES256).read(t), "HS256"), "an unsupported algorithm is refused")
}

func TestAWriteOverAChangedSecretIsAConflict(t *testing.T) {
	f := newFixture(t, jwa.ES256)
	stale := f.read(t)
	sec := stale.Secret.DeepCopy()
	sec.Labels = map[string]string{"touched": "yes"}
	_, err := f.kube.CoreV1().Secrets(ns).Update(t.Context(), sec, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.ErrorIs(t, f.r.AddKey(t.Context(), stale, ""), cluster.ErrConflict)
	assert.NotContains(t, f.read(t).Secret.Data, PendingKeyKey)
}

func TestNoJWTMaterialIsReported(t *testing.T) {
	f := newFixture(t, jwa.ES256)
	tb := f.read(t)
	delete(tb.Secret.Data, KeyKey)
	_, err := f.r.Status(t.Context(), tb)
	require.ErrorIs(t, err, ErrNoJWT)
	require.ErrorIs(t, f.r.AddKey(t.Context(), tb, ""), ErrNoJWT)
}

func TestStateRoundTripsThroughAnnotations(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	in := State{Phase: PhaseSigningSwitched, KeyAddedAt: at, SigningSwitchedAt: at.Add(time.Hour), OldKey: "a", NewKey: "b", ClockSkew: time.Minute, CertTTL: 2 * time.Hour}
	sec := &corev1.Secret{}
	in.annotate(sec)
	out, err := StateOf(sec)
	require.NoError(t, err)
	assert.Equal(t, in, out)
	sec.Annotations[AnnotationPhase] = "bogus"
	_, err = StateOf(sec)
	require.Error(t, err)
}
