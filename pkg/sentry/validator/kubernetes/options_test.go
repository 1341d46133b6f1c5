package kubernetes

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

func restConfig() *rest.Config { return &rest.Config{Host: "https://127.0.0.1:1"} }

func TestOptions(t *testing.T) {
	tests := map[string]struct {
		opts    Options
		wantErr bool
	}{
		"a Sentry ID and a rest config suffice":      {opts: Options{Config: restConfig(), SentryID: sentryID}},
		"no Sentry ID is an error":                   {opts: Options{Config: restConfig()}, wantErr: true},
		"no rest config nor clients is an error":     {opts: Options{SentryID: sentryID}, wantErr: true},
		"a typed client without dynamic is an error": {opts: Options{SentryID: sentryID, Client: fake.NewClientset()}, wantErr: true},
		"a Sentry ID that is no workload ID needs the control plane spelled out": {
			opts: Options{Config: restConfig(), SentryID: spiffeid.RequireFromString("spiffe://cluster.local/sentry")}, wantErr: true,
		},
		"an explicit control plane makes any Sentry ID fine": {
			opts: Options{Config: restConfig(), SentryID: spiffeid.RequireFromString("spiffe://cluster.local/sentry"),
				ControlPlaneTrustDomain: cpTD, ControlPlaneNamespace: "dapr-system"},
		},
		"an invalid control-plane namespace is an error": {
			opts: Options{Config: restConfig(), SentryID: sentryID, ControlPlaneNamespace: "Dapr.System"}, wantErr: true,
		},
		"a negative cache size is an error": {opts: Options{Config: restConfig(), SentryID: sentryID, ReviewCacheSize: -1}, wantErr: true},
		"a negative timeout is an error":    {opts: Options{Config: restConfig(), SentryID: sentryID, ReviewTimeout: -1}, wantErr: true},
		"a negative review concurrency is an error": {
			opts: Options{Config: restConfig(), SentryID: sentryID, MaxConcurrentReviews: -1}, wantErr: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.opts)
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrInvalidOptions)
				return
			}
			assert.NoError(t, err)
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Config: restConfig(), SentryID: sentryID}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, cpTD, o.ControlPlaneTrustDomain, "from the Sentry ID")
	assert.Equal(t, "dapr-system", o.ControlPlaneNamespace, "from the Sentry ID")
	assert.Equal(t, DefaultReviewCacheTTL, o.ReviewCacheTTL)
	assert.Equal(t, DefaultReviewCacheSize, o.ReviewCacheSize)
	assert.Equal(t, DefaultReviewTimeout, o.ReviewTimeout)
	assert.Equal(t, DefaultRejectionCacheTTL, o.RejectionCacheTTL)
	assert.Equal(t, DefaultMaxConcurrentReviews, o.MaxConcurrentReviews)
	assert.Equal(t, DefaultClockSkew, o.ClockSkew())
	assert.NotNil(t, o.Clock)
	assert.NotNil(t, o.Logger)
}

func TestRebuiltValidatorSharesCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := New(Options{Config: restConfig(), SentryID: sentryID, Registerer: reg})
	require.NoError(t, err)
	b, err := New(Options{Config: restConfig(), SentryID: sentryID, Registerer: reg})
	require.NoError(t, err, "a second validator on the same registry (config reload) is fine")
	a.metrics.cacheHits.Inc()
	b.metrics.cacheHits.Inc()
	assert.Equal(t, 2.0, counter(t, reg, MetricReviewCacheHit, ""))
}

func TestTheClientIsRateLimited(t *testing.T) {
	o := Options{Config: restConfig(), SentryID: sentryID}
	cfg := o.restConfig()
	assert.InDelta(t, DefaultClientQPS, cfg.QPS, 0, "not unlimited: a flood of tokens is throttled before the apiserver")
	assert.Equal(t, DefaultClientBurst, cfg.Burst)
	assert.Zero(t, o.Config.QPS, "the caller's config is not modified")

	own := restConfig()
	own.QPS, own.Burst = 20, 40
	cfg = Options{Config: own, SentryID: sentryID}.restConfig()
	assert.InDelta(t, 20, cfg.QPS, 0, "a limit set in Config is kept")
	assert.Equal(t, 40, cfg.Burst)
}
