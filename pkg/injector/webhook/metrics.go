package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a pod was not injected, the "reason" label of
// dapr_injector_sidecar_injection_failed_total.
const (
	ReasonNotPod       = "not_pod"      // the object is not a Pod, or not a CREATE
	ReasonDecode       = "decode"       // the Pod in the request cannot be decoded
	ReasonUnauthorized = "unauthorized" // the requester is not allowlisted; admitted without sidecar
	ReasonAnnotation   = "annotation"   // a dapr.io annotation is unusable; denied
	ReasonTokenSecret  = "token_secret" // a token Secret is missing or has no "token" key; denied
	ReasonConfig       = "config"       // the injector's own config is unusable; denied
	ReasonPatch        = "patch"        // the patch could not be computed; denied
)

// metrics are the injector's counters, with Dapr's names.
type metrics struct {
	requests  prometheus.Counter
	succeeded prometheus.Counter
	failed    *prometheus.CounterVec
}

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
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.succeeded, m.failed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
