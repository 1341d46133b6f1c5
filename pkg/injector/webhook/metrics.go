package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Values of the "reason" label of
// dapr_injector_sidecar_injection_failed_total.
const (
	// ReasonNotPod counts requests for another kind, a subresource or an
	// operation other than CREATE; they are admitted unchanged.
	ReasonNotPod = "not_pod"
	// ReasonDecode counts requests whose Pod cannot be decoded (HTTP 400).
	ReasonDecode = "decode"
	// ReasonUnauthorized counts Dapr pods from requesters outside the
	// allowlist; they are admitted without a sidecar.
	ReasonUnauthorized = "unauthorized"
	// ReasonAnnotation counts Dapr pods denied for an unusable annotation.
	ReasonAnnotation = "annotation"
	// ReasonTokenSecret counts Dapr pods denied because a token Secret is
	// missing or has no "token" key (not counted in warn-only mode).
	ReasonTokenSecret = "token_secret"
	// ReasonComponents counts Dapr pods asking for
	// dapr.io/inject-pluggable-components denied because the namespace's
	// Component resources could not be listed.
	ReasonComponents = "components"
	// ReasonConfig counts Dapr pods denied because the injector's own
	// config is unusable (for example no trust anchors yet).
	ReasonConfig = "config"
	// ReasonPatch counts Dapr pods denied because the patch could not be
	// built.
	ReasonPatch = "patch"
)

// metrics are the injector's counters, with Dapr's names.
type metrics struct {
	requests  prometheus.Counter
	succeeded prometheus.Counter
	failed    *prometheus.CounterVec
	// duration is ours (Dapr has none): how long a Dapr pod's admission
	// took, by result, against the API server's webhook timeout.
	duration *prometheus.HistogramVec
}

// Results of MetricDuration.
const (
	ResultInjected = "injected"
	ResultDenied   = "denied"
)

// MetricDuration is the histogram of Dapr pod admissions, in seconds.
const MetricDuration = "dapr_injector_sidecar_injection_duration_seconds"

// newMetrics creates the counters and registers them on reg (nil: none).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dapr_injector_sidecar_injection_requests_total",
			Help: "Admission requests received by the sidecar injector.",
		}),
		succeeded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dapr_injector_sidecar_injection_succeeded_total",
			Help: "Pods that got a sidecar patch.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dapr_injector_sidecar_injection_failed_total",
			Help: "Dapr pods (and non-Pod requests) that did not get a sidecar, by reason.",
		}, []string{"reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricDuration,
			Help:    "Time to admit a Dapr pod (decode to response, Secret and Component reads included), by result.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.succeeded, m.failed, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
