package kubernetes

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// reviewed starts a harness with pod shop/orders-1 and a token for it
// expiring at exp, and validates it once.
func reviewed(t *testing.T, exp time.Time, edit ...func(*Options)) (*harness, validator.Request) {
	t.Helper()
	h := start(t, []*corev1.Pod{newPod("shop", "orders-1", "orders", "uid-1", nil)}, nil, edit...)
	req := validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders-1", Token: fakeJWT("t", exp)}
	h.setStatus(req.Token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))
	_, err := h.v.Validate(t.Context(), req)
	require.NoError(t, err)
	require.EqualValues(t, 1, h.calls.Load())
	return h, req
}

func TestReviewCache(t *testing.T) {
	tests := map[string]struct {
		exp       time.Duration // token expiry after epoch
		edit      func(*Options)
		advance   time.Duration
		wantCalls int64
	}{
		"a repeat sign within ten seconds costs no TokenReview": {exp: time.Hour, advance: 9 * time.Second, wantCalls: 1},
		"a repeat sign after ten seconds is reviewed again":     {exp: time.Hour, advance: 10 * time.Second, wantCalls: 2},
		"a review is never reused past the token's expiry":      {exp: 5 * time.Second, advance: 5 * time.Second, wantCalls: 2},
		"a review is reused until just before the token's exp":  {exp: 5 * time.Second, advance: 4 * time.Second, wantCalls: 1},
		"a negative TTL turns the cache off": {
			exp: time.Hour, edit: func(o *Options) { o.ReviewCacheTTL = -1 }, advance: time.Second, wantCalls: 2,
		},
		"a longer TTL is honoured": {
			exp: time.Hour, edit: func(o *Options) { o.ReviewCacheTTL = 5 * time.Minute }, advance: 4 * time.Minute, wantCalls: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			exp := epoch.Add(tc.exp)
			var edits []func(*Options)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			h, req := reviewed(t, exp, edits...)
			h.clock.Step(tc.advance)
			_, err := h.v.Validate(t.Context(), req)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCalls, h.calls.Load())
			assert.Equal(t, float64(tc.wantCalls), counter(t, h.reg, MetricTokenReviews, ResultAuthenticated))
			assert.Equal(t, float64(2-tc.wantCalls), counter(t, h.reg, MetricReviewCacheHit, ""))
		})
	}
}

func TestCachedReviewStillChecksThePod(t *testing.T) {
	h, req := reviewed(t, epoch.Add(time.Hour))

	wrong := req
	wrong.AppID = "payments"
	_, err := h.v.Validate(t.Context(), wrong)
	assert.ErrorIs(t, err, ErrAppIDMismatch, "a cached review is no licence for another app ID")

	h.watches.Wait(t, "pods")
	require.NoError(t, h.client.CoreV1().Pods("shop").Delete(t.Context(), "orders-1", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		_, err := h.v.Validate(t.Context(), req)
		return err != nil
	}, 10*time.Second, 5*time.Millisecond, "a deleted pod is refused once the cache sees it")
	_, err = h.v.Validate(t.Context(), req)
	assert.ErrorIs(t, err, ErrPodNotFound)
	assert.EqualValues(t, 1, h.calls.Load(), "all from the review cache")
}

func TestReviewCacheIsBounded(t *testing.T) {
	c := newReviewCache[identity](2)
	now := epoch
	id := func(n string) identity { return identity{podName: n} }
	c.put(keyOf("a"), id("a"), now.Add(time.Minute))
	c.put(keyOf("b"), id("b"), now.Add(time.Minute))
	_, ok := c.get(keyOf("a"), now) // a is now the most recently used
	require.True(t, ok)
	c.put(keyOf("c"), id("c"), now.Add(time.Minute))
	assert.Equal(t, 2, c.len())
	_, ok = c.get(keyOf("b"), now)
	assert.False(t, ok, "the least recently used entry is evicted")
	got, ok := c.get(keyOf("a"), now)
	assert.True(t, ok)
	assert.Equal(t, "a", got.podName)

	c.put(keyOf("a"), id("a2"), now.Add(time.Second))
	got, ok = c.get(keyOf("a"), now)
	require.True(t, ok)
	assert.Equal(t, "a2", got.podName, "put replaces")
	_, ok = c.get(keyOf("a"), now.Add(time.Second))
	assert.False(t, ok, "an entry expires at its time")
	assert.Equal(t, 1, c.len(), "an expired entry is dropped when seen")
}
