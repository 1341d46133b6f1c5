package kubernetes

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names (trustplane's own; Dapr has none for this).
const (
	MetricTokenReviews   = "dapr_sentry_kubernetes_tokenreview_requests_total"
	MetricReviewCacheHit = "dapr_sentry_kubernetes_tokenreview_cache_hits_total"
	MetricReviewsSkipped = "dapr_sentry_kubernetes_tokenreview_skipped_total"
)

// Values of the result label of MetricTokenReviews.
const (
	ResultAuthenticated = "authenticated" // the apiserver authenticated the token
	ResultRejected      = "rejected"      // the apiserver refused the token
	ResultError         = "error"         // the TokenReview call failed
)

// Values of the reason label of MetricReviewsSkipped besides the local
// refusals' (ReasonTooLarge, ReasonMalformed, ReasonExpired,
// ReasonWrongAudience).
const (
	ReasonRejectionCached = "rejection_cached" // the apiserver refused the same token moments ago
	ReasonShared          = "shared"           // answered by a concurrent review of the same token
)

// metrics are the validator's collectors.
type metrics struct {
	reviews   *prometheus.CounterVec
	cacheHits prometheus.Counter
	skipped   *prometheus.CounterVec
}

// newMetrics creates the collectors and registers them on reg (if any). A
// collector already registered by an earlier Validator is reused, so a
// rebuilt validator keeps counting on the same series.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricTokenReviews,
			Help: "The number of TokenReview calls to the Kubernetes apiserver, by result.",
		}, []string{"result"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricReviewCacheHit,
			Help: "The number of tokens accepted from the TokenReview cache without an apiserver call.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricReviewsSkipped,
			Help: "The number of tokens answered without a TokenReview call of their own, by reason: refused before asking " +
				"(too_large, malformed, expired, wrong_audience), refused from the cache of the apiserver's refusals " +
				"(rejection_cached), or answered by a concurrent review of the same token (shared).",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.reviews, err = register(reg, m.reviews); err != nil {
		return nil, err
	}
	if m.cacheHits, err = register(reg, m.cacheHits); err != nil {
		return nil, err
	}
	if m.skipped, err = register(reg, m.skipped); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg, or returns the equal collector already
// there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("register metrics: %w", err)
}
