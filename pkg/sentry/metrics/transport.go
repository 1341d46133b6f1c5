package metrics

import "github.com/prometheus/client_golang/prometheus"

// Reasons of dapr_sentry_tls_handshake_failures_total.
const (
	HandshakeEOF     = "eof"     // the peer closed the connection during the handshake (port scans, TCP probes)
	HandshakeTimeout = "timeout" // no handshake within the handshake timeout (slow or stalled clients)
	HandshakeTLS     = "tls"     // the handshake failed: protocol, version or certificate error
)

// Transport are the collectors of the gRPC server's connections and load
// shedding. They are trustplane's: Dapr's Sentry has no limits to report.
type Transport struct {
	// HandshakeFailures counts connections whose TLS handshake failed, by
	// reason (HandshakeEOF, HandshakeTimeout, HandshakeTLS).
	HandshakeFailures *prometheus.CounterVec
	// Connections is the number of open connections to the gRPC server,
	// at most its connection limit.
	Connections prometheus.Gauge
	// RequestsShed counts requests refused with ResourceExhausted because
	// the server had its limit of requests in flight.
	RequestsShed prometheus.Counter
}

func newTransport() Transport {
	t := Transport{
		HandshakeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dapr_sentry_tls_handshake_failures_total",
			Help: "The number of connections to the gRPC server whose TLS handshake failed, by reason (eof, timeout, tls).",
		}, []string{"reason"}),
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dapr_sentry_grpc_connections",
			Help: "The number of open connections to the gRPC server.",
		}),
		RequestsShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dapr_sentry_grpc_requests_shed_total",
			Help: "The number of requests refused with ResourceExhausted because too many were in flight.",
		}),
	}
	for _, r := range []string{HandshakeEOF, HandshakeTimeout, HandshakeTLS} {
		t.HandshakeFailures.WithLabelValues(r)
	}
	return t
}
