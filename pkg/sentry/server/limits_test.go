package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	clocktesting "k8s.io/utils/clock/testing"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/metrics"
	"github.com/trustplane/trustplane/pkg/sentry/server"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/fake"
	"github.com/trustplane/trustplane/test/testca"
)

// blockingValidator grants appID once release is closed, or fails when the
// request's context ends first; entered receives each request as it starts.
type blockingValidator struct {
	entered chan struct{}
	release chan struct{}
}

func newBlockingValidator() *blockingValidator {
	return &blockingValidator{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (v *blockingValidator) Validate(ctx context.Context, _ validator.Request) (spiffeid.ID, error) {
	v.entered <- struct{}{}
	select {
	case <-v.release:
		return appID, nil
	case <-ctx.Done():
		return spiffeid.ID{}, ctx.Err()
	}
}

func withValidator(v validator.Validator) func(*server.Options) {
	return func(o *server.Options) {
		set, err := validator.NewSet(map[validator.Name]validator.Validator{validator.Insecure: v}, validator.Insecure)
		if err != nil {
			panic(err)
		}
		o.Validators = func() *validator.Set { return set }
	}
}

func withLimits(l server.Limits) func(*server.Options) {
	return func(o *server.Options) { o.Limits = l }
}

func signReq(t *testing.T) *sentryv1.SignCertificateRequest {
	return &sentryv1.SignCertificateRequest{Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t))}
}

func TestServer_ShedsRequestsBeyondMaxInFlightBeforeReadingThem(t *testing.T) {
	v := newBlockingValidator()
	h := newHarness(t, fake.Granting(appID), withValidator(v), withLimits(server.Limits{MaxInFlight: 1}))
	first := make(chan error, 1)
	go func() { _, err := h.client.SignCertificate(t.Context(), signReq(t)); first <- err }()
	<-v.entered

	_, err := h.client.SignCertificate(t.Context(), signReq(t))
	assert.Equal(t, codes.ResourceExhausted, status.Code(err), "Dapr's clients retry ResourceExhausted")
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.RequestsShed))
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.SignRequests), "the shed request never reached the handler")

	close(v.release)
	require.NoError(t, <-first)
	_, err = h.client.SignCertificate(t.Context(), signReq(t))
	assert.NoError(t, err, "the slot is given back when the request ends")
}

func TestServer_CancelsARequestAfterRequestTimeout(t *testing.T) {
	v := newBlockingValidator()
	h := newHarness(t, fake.Granting(appID), withValidator(v), withLimits(server.Limits{RequestTimeout: 200 * time.Millisecond, MaxInFlight: 1}))
	start := time.Now()
	_, err := h.client.SignCertificate(t.Context(), signReq(t))
	require.Error(t, err, "the caller set no deadline; the server's ends the request")
	assert.Less(t, time.Since(start), 5*time.Second)
	close(v.release)
	_, err = h.client.SignCertificate(t.Context(), signReq(t))
	assert.NoError(t, err, "the timed-out request gave its slot back")
}

func TestServer_RefusesOtherMethodsAtTheTransport(t *testing.T) {
	h := newHarness(t, fake.Granting(appID))
	err := h.conn.Invoke(t.Context(), "/dapr.proto.sentry.v1.CA/Other", &sentryv1.SignCertificateRequest{}, &sentryv1.SignCertificateResponse{})
	assert.Equal(t, codes.Unimplemented, status.Code(err))
	err = h.conn.Invoke(t.Context(), "/grpc.health.v1.Health/Check", &sentryv1.SignCertificateRequest{}, &sentryv1.SignCertificateResponse{})
	assert.Equal(t, codes.Unimplemented, status.Code(err))
	assert.Zero(t, testutil.ToFloat64(h.metrics.SignRequests))
}

func TestServer_RefusesOversizedRequestsAndHeaders(t *testing.T) {
	h := newHarness(t, fake.Granting(appID), withLimits(server.Limits{MaxRequestBytes: 16 << 10, MaxHeaderBytes: 4 << 10}))
	req := signReq(t)
	req.Token = strings.Repeat("t", 16<<10)
	_, err := h.client.SignCertificate(t.Context(), req)
	assert.Equal(t, codes.ResourceExhausted, status.Code(err), "a message over MaxRequestBytes")

	ctx := metadata.AppendToOutgoingContext(t.Context(), "x-padding", strings.Repeat("p", 8<<10))
	_, err = h.client.SignCertificate(ctx, signReq(t))
	assert.Error(t, err, "headers over MaxHeaderBytes")

	_, err = h.client.SignCertificate(t.Context(), signReq(t))
	assert.NoError(t, err, "the server goes on signing")
}

func TestServer_CountsFailedHandshakes(t *testing.T) {
	h := newHarness(t, fake.Granting(appID), withLimits(server.Limits{HandshakeTimeout: 200 * time.Millisecond}))
	plain, err := net.Dial("tcp", h.addr)
	require.NoError(t, err)
	_, _ = plain.Write([]byte("GET / HTTP/1.1\r\nHost: sentry\r\n\r\n"))
	_, _ = plain.Read(make([]byte, 512))
	_ = plain.Close()

	closed, err := net.Dial("tcp", h.addr)
	require.NoError(t, err)
	_ = closed.Close()

	stalled, err := net.Dial("tcp", h.addr)
	require.NoError(t, err)
	defer stalled.Close()

	failures := func(reason string) float64 {
		return testutil.ToFloat64(h.metrics.HandshakeFailures.WithLabelValues(reason))
	}
	require.Eventually(t, func() bool {
		return failures(metrics.HandshakeTLS) == 1 && failures(metrics.HandshakeEOF) == 1 && failures(metrics.HandshakeTimeout) == 1
	}, 5*time.Second, 10*time.Millisecond, "tls %v, eof %v, timeout %v",
		failures(metrics.HandshakeTLS), failures(metrics.HandshakeEOF), failures(metrics.HandshakeTimeout))
	_, err = h.client.SignCertificate(t.Context(), signReq(t))
	assert.NoError(t, err)
}

func TestNew_RefusesNegativeLimits(t *testing.T) {
	_, err := server.New(server.Options{
		Authority:      nopSigner{},
		Validators:     func() *validator.Set { return nil },
		Issuance:       func() server.Issuance { return server.Issuance{} },
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil },
		ListenAddress:  "127.0.0.1:0",
		Metrics:        metrics.New(prometheus.NewRegistry()),
		Limits:         server.Limits{MaxConnections: -1, RequestTimeout: -time.Second},
	})
	assert.ErrorContains(t, err, "MaxConnections -1 is negative")
	assert.ErrorContains(t, err, "RequestTimeout -1s is negative")
}

type nopSigner struct{}

func (nopSigner) SignWorkload(context.Context, ca.SignRequest) (*ca.Issued, error) { return nil, nil }

func TestSignCertificate_RefusalLinesAreRateLimitedButEveryRefusalIsCounted(t *testing.T) {
	clk := clocktesting.NewFakeClock(start)
	h := newHarness(t, fake.Denying(errors.New("bad token")), func(o *server.Options) { o.Clock = clk })
	for range 20 {
		_, err := h.client.SignCertificate(t.Context(), signReq(t))
		require.Equal(t, codes.PermissionDenied, status.Code(err))
	}
	assert.Equal(t, 5, h.logs.FilterMessage("Refused to sign certificate").Len(), "5 lines per reason per second")
	assert.Equal(t, 20.0, testutil.ToFloat64(h.metrics.SignFailure.WithLabelValues(metrics.ReasonAuthentication)), "the metric counts all")

	clk.Step(time.Second)
	summary := h.logs.FilterMessage("Refused to sign certificate: repeated lines suppressed").AllUntimed()
	require.Len(t, summary, 1)
	assert.Equal(t, int64(15), summary[0].ContextMap()["suppressed"])
	assert.Equal(t, metrics.ReasonAuthentication, summary[0].ContextMap()["reason"])
}
