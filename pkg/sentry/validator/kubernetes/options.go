package kubernetes

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Defaults of Options.
const (
	// DefaultReviewCacheTTL is how long a successful TokenReview is reused
	// at most (never past the token's own expiry): as long as the
	// apiserver itself caches a successful token authentication, so a
	// deleted ServiceAccount is refused no later than the apiserver
	// refuses it.
	DefaultReviewCacheTTL = 10 * time.Second
	// DefaultReviewCacheSize bounds the number of cached TokenReviews.
	DefaultReviewCacheSize = 10000
	// DefaultReviewTimeout bounds one TokenReview call.
	DefaultReviewTimeout = 10 * time.Second
	// DefaultRejectionCacheTTL is how long the apiserver's refusal of a
	// token is reused: a flood of one bad token costs one TokenReview per
	// ten seconds, and a refusal that was the apiserver's passing trouble
	// (an authenticator it could not reach) delays a retrying sidecar by
	// ten seconds at most, as long as a success is reused.
	DefaultRejectionCacheTTL = 10 * time.Second
	// DefaultMaxConcurrentReviews bounds the TokenReviews in flight. At
	// the client's DefaultClientQPS, 32 in flight keep up as long as one
	// TokenReview takes under 320 ms (it takes milliseconds), so the bound
	// only bites when the apiserver is slow: then requests queue here, in
	// their own context, rather than as ever more goroutines and streams
	// to the apiserver.
	DefaultMaxConcurrentReviews = 32
	// DefaultClockSkew is how long after its exp a token is still sent
	// to the apiserver (Dapr's default spec.mtls.allowedClockSkew), for a
	// Sentry whose clock is ahead of the apiserver's.
	DefaultClockSkew = 15 * time.Minute
	// DefaultClientQPS and DefaultClientBurst limit the client the
	// validator builds from Config when Config sets no limit. Its calls
	// are the informers' lists and watches and one TokenReview per new
	// token, and new tokens come as fast as pods start: 100/s serves a
	// cluster's usual pod start rate without delay and a restart storm of
	// 5,000 pods arriving at once within 50 s (daprd retries meanwhile),
	// the burst of 200 takes a two-second spike without delay, and forged
	// tokens that pass the local checks cost the apiserver at most 100
	// TokenReviews/s per Sentry replica.
	DefaultClientQPS   = 100
	DefaultClientBurst = 200
)

// ErrInvalidOptions wraps every error of New about its Options.
var ErrInvalidOptions = errors.New("invalid kubernetes validator options")

// Options configures New.
type Options struct {
	// Config reaches the apiserver. The validator builds its own client
	// from a copy, so its rate limit is apart from other clients': when
	// QPS and Burst are both zero and no RateLimiter is set, they are
	// DefaultClientQPS and DefaultClientBurst. Required unless Client and
	// Dynamic are both set.
	Config *rest.Config
	// Client, if set with Dynamic, is used instead of a client built from
	// Config (for tests with fake clients).
	Client k8s.Interface
	// Dynamic, if set with Client, watches Configurations instead of a
	// client built from Config.
	Dynamic dynamic.Interface

	// SentryID is Sentry's own SPIFFE ID, spiffe://<cp-td>/ns/<cp-ns>/dapr-sentry:
	// the audience callers' tokens must carry (the legacy audience
	// LegacyAudience is accepted too). Required.
	SentryID spiffeid.ID
	// ControlPlaneTrustDomain is the trust domain of control-plane
	// identities (dapr-operator, dapr-injector, ...). Default: SentryID's.
	ControlPlaneTrustDomain spiffeid.TrustDomain
	// ControlPlaneNamespace is the only namespace control-plane pods may
	// run in. Default: SentryID's namespace.
	ControlPlaneNamespace string

	// ReviewCacheTTL is how long a successful TokenReview is reused; the
	// token's expiry shortens it. Default DefaultReviewCacheTTL; negative
	// turns the cache off.
	ReviewCacheTTL time.Duration
	// ReviewCacheSize bounds the cached TokenReviews (least recently used
	// first out). Default DefaultReviewCacheSize.
	ReviewCacheSize int
	// ReviewTimeout bounds one TokenReview call. Default DefaultReviewTimeout.
	ReviewTimeout time.Duration
	// RejectionCacheTTL is how long the apiserver's refusal of a token is
	// reused (failed calls are never cached). The cache has
	// ReviewCacheSize entries of its own, so refused tokens never evict
	// accepted ones. Default DefaultRejectionCacheTTL; negative turns the
	// cache off.
	RejectionCacheTTL time.Duration
	// MaxConcurrentReviews bounds the TokenReviews in flight; requests
	// beyond it wait, within their context. Concurrent requests with the
	// same token share one review. Default DefaultMaxConcurrentReviews.
	MaxConcurrentReviews int
	// ClockSkew returns how long after its exp a token is still sent to
	// the apiserver (spec.mtls.allowedClockSkew, which may change while
	// Sentry runs). Default: DefaultClockSkew.
	ClockSkew func() time.Duration

	// Clock times the TokenReview caches and the tokens' expiry. Default
	// clock.RealClock.
	Clock clock.PassiveClock
	// Logger receives cache and informer events. Default zap.NewNop().
	Logger *zap.Logger
	// Registerer receives the validator's collectors (see the package
	// documentation). Nil registers nothing.
	Registerer prometheus.Registerer
}

// withDefaults checks o and fills the defaults in.
func (o Options) withDefaults() (Options, error) {
	if o.SentryID.IsZero() {
		return o, fmt.Errorf("%w: the Sentry ID (token audience) is required", ErrInvalidOptions)
	}
	if (o.Client == nil) != (o.Dynamic == nil) {
		return o, fmt.Errorf("%w: Client and Dynamic go together", ErrInvalidOptions)
	}
	if o.Client == nil && o.Config == nil {
		return o, fmt.Errorf("%w: a rest config (or clients) is required", ErrInvalidOptions)
	}
	if o.ControlPlaneTrustDomain.IsZero() || o.ControlPlaneNamespace == "" {
		ws, err := spiffe.Parse(o.SentryID)
		if err != nil {
			return o, fmt.Errorf("%w: Sentry ID: %w", ErrInvalidOptions, err)
		}
		if o.ControlPlaneTrustDomain.IsZero() {
			o.ControlPlaneTrustDomain = ws.TrustDomain
		}
		if o.ControlPlaneNamespace == "" {
			o.ControlPlaneNamespace = ws.Namespace
		}
	}
	if err := spiffe.ValidateNamespace(o.ControlPlaneNamespace); err != nil {
		return o, fmt.Errorf("%w: control-plane namespace: %w", ErrInvalidOptions, err)
	}
	if o.ReviewCacheTTL == 0 {
		o.ReviewCacheTTL = DefaultReviewCacheTTL
	}
	switch {
	case o.ReviewCacheSize < 0:
		return o, fmt.Errorf("%w: review cache size %d is negative", ErrInvalidOptions, o.ReviewCacheSize)
	case o.ReviewCacheSize == 0:
		o.ReviewCacheSize = DefaultReviewCacheSize
	}
	switch {
	case o.ReviewTimeout < 0:
		return o, fmt.Errorf("%w: review timeout %s is negative", ErrInvalidOptions, o.ReviewTimeout)
	case o.ReviewTimeout == 0:
		o.ReviewTimeout = DefaultReviewTimeout
	}
	if o.RejectionCacheTTL == 0 {
		o.RejectionCacheTTL = DefaultRejectionCacheTTL
	}
	switch {
	case o.MaxConcurrentReviews < 0:
		return o, fmt.Errorf("%w: max concurrent reviews %d is negative", ErrInvalidOptions, o.MaxConcurrentReviews)
	case o.MaxConcurrentReviews == 0:
		o.MaxConcurrentReviews = DefaultMaxConcurrentReviews
	}
	if o.ClockSkew == nil {
		o.ClockSkew = func() time.Duration { return DefaultClockSkew }
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o, nil
}

// clients returns the typed and dynamic clients of o.
func (o Options) clients() (k8s.Interface, dynamic.Interface, error) {
	if o.Client != nil {
		return o.Client, o.Dynamic, nil
	}
	cfg := o.restConfig()
	client, err := k8s.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create dynamic client: %w", err)
	}
	return client, dyn, nil
}

// restConfig is a copy of Config with the default rate limit filled in.
func (o Options) restConfig() *rest.Config {
	cfg := rest.CopyConfig(o.Config)
	if cfg.QPS == 0 && cfg.Burst == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = DefaultClientQPS, DefaultClientBurst
	}
	return cfg
}
