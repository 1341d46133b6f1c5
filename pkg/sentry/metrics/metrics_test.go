package metrics_test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/metrics"
	"github.com/trustplane/trustplane/test/testca"
)

func TestObserveBundle(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	oldRoot, newRoot := testca.NewRoot(t, testca.WithLifetime(24*time.Hour)), testca.NewRoot(t)
	issuer := newRoot.Issuer(t, testca.WithLifetime(48*time.Hour))

	m.ObserveBundle(issuer.Cert, []*x509.Certificate{oldRoot.Cert, newRoot.Cert})
	assert.Equal(t, float64(issuer.Cert.NotAfter.Unix()), testutil.ToFloat64(m.IssuerExpiry))
	assert.Equal(t, 2, testutil.CollectAndCount(m.RootExpiry), "one gauge per root")
	assert.Equal(t, float64(oldRoot.Cert.NotAfter.Unix()), testutil.ToFloat64(m.RootExpiry.WithLabelValues(oldRoot.Cert.SerialNumber.Text(16))))

	m.ObserveBundle(issuer.Cert, []*x509.Certificate{newRoot.Cert})
	assert.Equal(t, 1, testutil.CollectAndCount(m.RootExpiry), "a removed root's gauge goes away")

	names, err := reg.Gather()
	require.NoError(t, err)
	var got []string
	for _, n := range names {
		got = append(got, n.GetName())
	}
	assert.Subset(t, got, []string{
		"dapr_sentry_cert_sign_failure_total", "dapr_sentry_issuercert_expiry_timestamp", "dapr_sentry_rootcert_expiry_timestamp",
		"dapr_sentry_cert_expiry_warnings_total", "dapr_sentry_tls_handshake_failures_total",
		"dapr_sentry_grpc_connections", "dapr_sentry_grpc_requests_shed_total",
	})
	assert.Equal(t, 3, testutil.CollectAndCount(m.HandshakeFailures), "every handshake failure reason shows as 0 before the first one")
	assert.Equal(t, 2, testutil.CollectAndCount(m.ExpiryWarnings), "root and issuer warnings show as 0 before the first one")
}
