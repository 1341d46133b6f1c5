package metrics

import (
	"crypto/x509"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Failure reasons of dapr_sentry_cert_sign_failure_total. Dapr always says
// "sign"; trustplane says which step failed.
const (
	ReasonInvalidRequest = "invalid_request" // no or unknown validator
	ReasonAuthentication = "authentication"  // the validator refused the caller
	ReasonInvalidCSR     = "invalid_csr"     // the CSR is malformed or badly signed
	ReasonSign           = "sign"            // signing failed (issuer expired, internal fault)
)

// Metrics are Sentry's collectors.
type Metrics struct {
	// SignRequests counts SignCertificate calls received.
	SignRequests prometheus.Counter
	// SignSuccess counts certificates issued.
	SignSuccess prometheus.Counter
	// SignFailure counts failed SignCertificate calls by reason.
	SignFailure *prometheus.CounterVec
	// ServerCertIssueFailed counts failures to issue Sentry's own certificate.
	ServerCertIssueFailed *prometheus.CounterVec
	// IssuerChanged counts trust bundle loads that changed the issuer.
	IssuerChanged prometheus.Counter
	// IssuerExpiry is the issuer certificate's NotAfter in Unix seconds.
	IssuerExpiry prometheus.Gauge
	// RootExpiry is each root certificate's NotAfter in Unix seconds.
	RootExpiry *prometheus.GaugeVec
	// ExpiryWarnings counts expiry warnings by certificate ("root" or
	// "issuer"); it is trustplane's, Dapr has none.
	ExpiryWarnings *prometheus.CounterVec
	// Transport are the gRPC server's connection and load-shedding
	// collectors (trustplane's; Dapr has none).
	Transport
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SignRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dapr_sentry_cert_sign_request_received_total",
			Help: "The number of certificate signing requests received.",
		}),
		SignSuccess: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dapr_sentry_cert_sign_success_total",
			Help: "The number of certificates issued.",
		}),
		SignFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dapr_sentry_cert_sign_failure_total",
			Help: "The number of failed certificate signing requests, by reason.",
		}, []string{"reason"}),
		ServerCertIssueFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dapr_sentry_servercert_issue_failed_total",
			Help: "The number of failures to issue Sentry's own serving certificate.",
		}, []string{"reason"}),
		IssuerChanged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dapr_sentry_issuercert_changed_total",
			Help: "The number of times the issuer certificate was loaded or changed.",
		}),
		IssuerExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dapr_sentry_issuercert_expiry_timestamp",
			Help: "The issuer certificate's expiry as a Unix timestamp in seconds.",
		}),
		RootExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dapr_sentry_rootcert_expiry_timestamp",
			Help: "Each root certificate's expiry as a Unix timestamp in seconds, by serial number.",
		}, []string{"serial"}),
		ExpiryWarnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dapr_sentry_cert_expiry_warnings_total",
			Help: "The number of expiry warnings logged, by certificate (root or issuer).",
		}, []string{"certificate"}),
	}
	m.Transport = newTransport()
	reg.MustRegister(m.SignRequests, m.SignSuccess, m.SignFailure, m.ServerCertIssueFailed,
		m.IssuerChanged, m.IssuerExpiry, m.RootExpiry, m.ExpiryWarnings,
		m.HandshakeFailures, m.Connections, m.RequestsShed)
	for _, r := range []string{ReasonInvalidRequest, ReasonAuthentication, ReasonInvalidCSR, ReasonSign} {
		m.SignFailure.WithLabelValues(r)
	}
	for _, c := range []string{"root", "issuer"} {
		m.ExpiryWarnings.WithLabelValues(c)
	}
	return m
}

// ObserveBundle records the expiry of the issuer and of every root, and
// forgets roots that left the bundle.
func (m *Metrics) ObserveBundle(issuer *x509.Certificate, roots []*x509.Certificate) {
	m.IssuerExpiry.Set(unix(issuer.NotAfter))
	m.RootExpiry.Reset()
	for _, r := range roots {
		m.RootExpiry.WithLabelValues(r.SerialNumber.Text(16)).Set(unix(r.NotAfter))
	}
}

func unix(t time.Time) float64 { return float64(t.Unix()) }
