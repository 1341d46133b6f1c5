package kubernetes

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authnv1 "k8s.io/api/authentication/v1"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// waiters returns the number of callers waiting for the review of token.
func (h *harness) waiters(token string) int {
	g := h.v.flights
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.flying[keyOf(token)]; ok {
		return f.waiters
	}
	return 0
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, msg)
}

func TestConcurrentRequestsWithOneTokenShareOneReview(t *testing.T) {
	tests := map[string]struct {
		status  authnv1.TokenReviewStatus
		wantErr error
	}{
		"a token the apiserver refuses": {status: authnv1.TokenReviewStatus{Error: "invalid bearer token"}, wantErr: ErrInvalidToken},
		"a token the apiserver accepts": {status: okStatus(boundUser("shop", "orders", "orders-1", "uid-1"))},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, ordersPod(), nil)
			token := fakeJWT("t", epoch.Add(time.Hour))
			h.setStatus(token, tc.status)
			release := h.hold()
			defer release()

			const n = 1000
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, err := h.v.Validate(t.Context(), ordersRequest(token))
					errs <- err
				})
			}
			eventually(t, func() bool { return h.waiters(token) == n && h.inFlight.Load() == 1 }, "every request waits for the one review")
			release()
			wg.Wait()
			close(errs)
			for err := range errs {
				if tc.wantErr == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tc.wantErr)
				}
			}
			assert.EqualValues(t, 1, h.calls.Load(), "1 TokenReview for 1,000 concurrent requests")
			assert.Equal(t, float64(n-1), counter(t, h.reg, MetricReviewsSkipped, ReasonShared))
			assert.Zero(t, h.v.flights.len())
		})
	}
}

func TestConcurrentReviewsAreBounded(t *testing.T) {
	h := start(t, ordersPod(), nil, func(o *Options) { o.MaxConcurrentReviews = 4 })
	release := h.hold()
	defer release()

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := h.v.Validate(t.Context(), ordersRequest(fakeJWT(fmt.Sprint(i), epoch.Add(time.Hour))))
			assert.ErrorIs(t, err, ErrInvalidToken)
		})
	}
	eventually(t, func() bool { return h.v.flights.len() == n && h.inFlight.Load() == 4 }, "4 reviews run, 16 wait")
	time.Sleep(20 * time.Millisecond)
	assert.EqualValues(t, 4, h.maxInFlight.Load(), "no fifth review starts")

	t.Run("a request that waits for a slot past its deadline is refused, and its review never runs", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := h.v.Validate(ctx, ordersRequest(fakeJWT("late", epoch.Add(time.Hour))))
		require.ErrorIs(t, err, ErrTokenReview)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, "token review failed: context deadline exceeded", validator.PublicMessage(err))
		eventually(t, func() bool { return h.v.flights.len() == n }, "the abandoned review is dropped")
	})

	release()
	wg.Wait()
	assert.EqualValues(t, n, h.calls.Load())
	assert.EqualValues(t, 4, h.maxInFlight.Load())
}

func TestARequestLeavingDoesNotFailThoseSharingItsReview(t *testing.T) {
	h := start(t, ordersPod(), nil)
	token := fakeJWT("t", epoch.Add(time.Hour))
	h.setStatus(token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))
	release := h.hold()
	defer release()

	first, leave := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := h.v.Validate(first, ordersRequest(token))
		firstErr <- err
	}()
	eventually(t, func() bool { return h.inFlight.Load() == 1 }, "the first request's review runs")
	secondErr := make(chan error, 1)
	go func() {
		_, err := h.v.Validate(t.Context(), ordersRequest(token))
		secondErr <- err
	}()
	eventually(t, func() bool { return h.waiters(token) == 2 }, "the second request shares it")

	leave()
	require.ErrorIs(t, <-firstErr, context.Canceled)
	release()
	require.NoError(t, <-secondErr, "the review went on for the second request")
	assert.EqualValues(t, 1, h.calls.Load())
}

func TestTheLastRequestLeavingCancelsTheReview(t *testing.T) {
	h := start(t, ordersPod(), nil)
	token := fakeJWT("t", epoch.Add(time.Hour))
	h.setStatus(token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))
	release := h.hold()

	ctx, leave := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := h.v.Validate(ctx, ordersRequest(token))
		done <- err
	}()
	eventually(t, func() bool { return h.inFlight.Load() == 1 }, "the review runs")
	leave()
	require.ErrorIs(t, <-done, context.Canceled)
	eventually(t, func() bool { return h.inFlight.Load() == 0 }, "the held call is cancelled")
	eventually(t, func() bool { return counter(t, h.reg, MetricTokenReviews, ResultError) == 1 }, "as a failed call")
	assert.Zero(t, h.v.flights.len())

	release()
	_, err := h.v.Validate(t.Context(), ordersRequest(token))
	require.NoError(t, err, "the cancelled call was not cached")
}
