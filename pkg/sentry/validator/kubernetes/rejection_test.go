package kubernetes

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

func TestTheApiserversRefusalIsCachedBriefly(t *testing.T) {
	tests := map[string]struct {
		status  authnv1.TokenReviewStatus
		wantErr error
		message string
	}{
		"a review error (a forged signature)": {
			status: authnv1.TokenReviewStatus{Error: "invalid bearer token"}, wantErr: ErrInvalidToken, message: "invalid token: invalid bearer token",
		},
		"an unauthenticated token": {status: authnv1.TokenReviewStatus{}, wantErr: ErrInvalidToken, message: "authentication failed"},
		"an authenticated token bound to no pod": {
			status:  okStatus(authnv1.UserInfo{Username: "system:serviceaccount:shop:orders"}),
			wantErr: ErrNotBoundToPod, message: "kubernetes.io/pod/name claim is missing from Kubernetes token",
		},
		"an authenticated user that is no service account": {
			status:  okStatus(authnv1.UserInfo{Username: "alice", Extra: boundUser("shop", "orders", "orders-1", "uid-1").Extra}),
			wantErr: ErrInvalidToken, message: "provided token is not a properly structured service account token",
		},
		"a review for none of Sentry's audiences": {
			status:  authnv1.TokenReviewStatus{Authenticated: true, User: boundUser("shop", "orders", "orders-1", "uid-1"), Audiences: []string{"x"}},
			wantErr: ErrInvalidToken, message: "authentication failed",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, ordersPod(), nil)
			token := fakeJWT("forged", epoch.Add(time.Hour))
			h.setStatus(token, tc.status)
			validate := func() {
				t.Helper()
				_, err := h.v.Validate(t.Context(), ordersRequest(token))
				require.ErrorIs(t, err, tc.wantErr)
				require.Equal(t, tc.message, validator.PublicMessage(err), "the cached refusal is the apiserver's")
			}
			for range 1000 {
				validate()
			}
			assert.EqualValues(t, 1, h.calls.Load(), "1 TokenReview for 1,000 repeats")
			assert.Equal(t, 999.0, counter(t, h.reg, MetricReviewsSkipped, ReasonRejectionCached))

			h.clock.Step(DefaultRejectionCacheTTL - time.Millisecond)
			validate()
			assert.EqualValues(t, 1, h.calls.Load(), "still within the TTL")

			h.clock.Step(time.Millisecond)
			validate()
			assert.EqualValues(t, 2, h.calls.Load(), "asked again once the TTL has passed")
			validate()
			assert.EqualValues(t, 2, h.calls.Load())
		})
	}
}

func TestAFailedCallIsNotCached(t *testing.T) {
	gr := schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}
	tests := map[string]error{
		"an internal error":         apierrors.NewInternalError(errors.New("etcd unavailable")),
		"a server timeout":          apierrors.NewServerTimeout(gr, "create", 1),
		"a timeout":                 apierrors.NewTimeoutError("request timed out", 1),
		"too many requests":         apierrors.NewTooManyRequests("slow down", 1),
		"unavailable":               apierrors.NewServiceUnavailable("restarting"),
		"forbidden (Sentry's RBAC)": apierrors.NewForbidden(gr, "", errors.New("no rule")),
		"a connection error":        errors.New("dial tcp 10.0.0.1:443: connect: connection refused"),
	}
	for name, apiErr := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, ordersPod(), nil)
			token := fakeJWT("t", epoch.Add(time.Hour))
			h.setAPIError(apiErr)
			for range 3 {
				_, err := h.v.Validate(t.Context(), ordersRequest(token))
				require.ErrorIs(t, err, ErrTokenReview)
			}
			assert.EqualValues(t, 3, h.calls.Load(), "every request asks again")
			assert.Equal(t, 3.0, counter(t, h.reg, MetricTokenReviews, ResultError))

			h.setAPIError(nil)
			h.setStatus(token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))
			_, err := h.v.Validate(t.Context(), ordersRequest(token))
			require.NoError(t, err, "the apiserver is back: the token is accepted at once")
		})
	}
}

func TestANegativeRejectionTTLTurnsTheCacheOff(t *testing.T) {
	h := start(t, ordersPod(), nil, func(o *Options) { o.RejectionCacheTTL = -1 })
	token := fakeJWT("t", epoch.Add(time.Hour))
	for range 3 {
		_, err := h.v.Validate(t.Context(), ordersRequest(token))
		require.ErrorIs(t, err, ErrInvalidToken)
	}
	assert.EqualValues(t, 3, h.calls.Load())
}

func TestRefusedTokensDoNotEvictAcceptedOnes(t *testing.T) {
	h := start(t, ordersPod(), nil, func(o *Options) { o.ReviewCacheSize = 2 })
	good := fakeJWT("good", epoch.Add(time.Hour))
	h.setStatus(good, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))
	_, err := h.v.Validate(t.Context(), ordersRequest(good))
	require.NoError(t, err)
	for i := range 5 {
		_, err := h.v.Validate(t.Context(), ordersRequest(fakeJWT(string(rune('a'+i)), epoch.Add(time.Hour))))
		require.ErrorIs(t, err, ErrInvalidToken)
	}
	require.EqualValues(t, 6, h.calls.Load())
	assert.Equal(t, 2, h.v.rejections.len(), "the refusals' cache is bounded")
	_, err = h.v.Validate(t.Context(), ordersRequest(good))
	require.NoError(t, err)
	assert.EqualValues(t, 6, h.calls.Load(), "the accepted token is still cached")
}
