package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	clocktesting "k8s.io/utils/clock/testing"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/metrics"
	"github.com/trustplane/trustplane/pkg/sentry/server"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/fake"
	"github.com/trustplane/trustplane/test/testca"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	cpTD     = spiffeid.RequireTrustDomainFromString("cluster.local")
	sentryID = spiffeid.RequireFromSegments(cpTD, "ns", "dapr-system", "dapr-sentry")
	appID    = spiffeid.RequireFromString("spiffe://public/ns/shop/orders")
	start    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
)

type harness struct {
	client  sentryv1.CAClient
	conn    *grpc.ClientConn
	addr    string
	clock   *clocktesting.FakeClock
	metrics *metrics.Metrics
	logs    *observer.ObservedLogs
	bundle  *bundle.Bundle
	val     *fake.Validator
}

// newHarness serves the CA in-process over real TLS, with a granting fake
// validator as the default and a fake clock.
func newHarness(t testing.TB, val *fake.Validator, mods ...func(*server.Options)) *harness {
	t.Helper()
	clk := clocktesting.NewFakeClock(start)
	b, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: cpTD, Namespace: "dapr-system", Now: start, AllowedClockSkew: time.Minute})
	require.NoError(t, err)
	authority, err := ca.New(ca.Options{Bundle: b, Clock: clk})
	require.NoError(t, err)

	// Sentry's own certificate, valid in the fake clock's present and in
	// the real one (the TLS handshake uses real time).
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	realAuthority, err := ca.New(ca.Options{Bundle: b})
	require.NoError(t, err)
	issued, err := realAuthority.SignWorkload(t.Context(), ca.SignRequest{PublicKey: key.Public(), ID: sentryID, TTL: time.Hour})
	require.NoError(t, err)
	cert := tls.Certificate{PrivateKey: key}
	for rest := issued.ChainPEM; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		cert.Certificate = append(cert.Certificate, blk.Bytes)
	}

	set, err := validator.NewSet(map[validator.Name]validator.Validator{validator.Insecure: val}, validator.Insecure)
	require.NoError(t, err)
	core, logs := observer.New(zap.DebugLevel)
	m := metrics.New(prometheus.NewRegistry())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opts := server.Options{
		Authority:  authority,
		Validators: func() *validator.Set { return set },
		Issuance: func() server.Issuance {
			return server.Issuance{WorkloadCertTTL: time.Hour, AllowedClockSkew: 5 * time.Minute}
		},
		ControlPlaneTrustDomain: cpTD,
		ControlPlaneNamespace:   "dapr-system",
		GetCertificate:          func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
		Listener:                ln,
		Metrics:                 m,
		Logger:                  zap.New(core),
	}
	for _, mod := range mods {
		mod(&opts)
	}
	srv, err := server.New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	require.Eventually(t, func() bool { return srv.Ready() == nil }, 5*time.Second, time.Millisecond)

	anchors := x509bundle.FromX509Authorities(cpTD, b.Roots)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(
		credentials.NewTLS(tlsconfig.TLSClientConfig(anchors, tlsconfig.AuthorizeID(sentryID)))))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &harness{client: sentryv1.NewCAClient(conn), conn: conn, addr: ln.Addr().String(), clock: clk, metrics: m, logs: logs, bundle: b, val: val}
}

func TestSignCertificate_IssuesForTheValidatedIdentity(t *testing.T) {
	h := newHarness(t, fake.Granting(appID))
	resp, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "asked-for", Namespace: "shop", Token: "secret-token", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
	require.NoError(t, err)
	blk, _ := pem.Decode(resp.GetWorkloadCertificate())
	leaf, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)

	assert.Equal(t, appID.String(), leaf.URIs[0].String(), "the identity is the validator's, not the request's")
	assert.Equal(t, start.Add(-5*time.Minute), leaf.NotBefore, "NotBefore = now − skew on the injected clock")
	assert.Equal(t, start.Add(time.Hour), leaf.NotAfter, "NotAfter = now + TTL")
	assert.Equal(t, start.Add(time.Hour), resp.GetValidUntil().AsTime())
	assert.Equal(t, [][]byte{h.bundle.RootsPEM}, resp.GetTrustChainCertificates())

	reqs := h.val.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, validator.Request{AppID: "asked-for", Namespace: "shop", Token: "secret-token", HasCSR: true}, reqs[0])
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.SignRequests))
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.SignSuccess))
	for _, e := range h.logs.All() {
		assert.NotContains(t, e.Message, "secret-token")
		for _, f := range e.Context {
			assert.NotContains(t, f.String, "secret-token", "tokens are never logged")
		}
	}
}

func TestSignCertificate_RefusesToSignWithAnExpiredIssuer(t *testing.T) {
	h := newHarness(t, fake.Granting(appID))
	h.clock.SetTime(h.bundle.Issuer().NotAfter.Add(time.Second))
	_, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
	assert.Equal(t, codes.Internal, status.Code(err))
	assert.Equal(t, "failed to sign certificate", status.Convert(err).Message(), "no internal detail leaks")
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.SignFailure.WithLabelValues(metrics.ReasonSign)))
}

func TestSignCertificate_ClampsTheLeafToTheIssuer(t *testing.T) {
	h := newHarness(t, fake.Granting(appID))
	h.clock.SetTime(h.bundle.Issuer().NotAfter.Add(-10 * time.Minute))
	resp, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
	require.NoError(t, err)
	assert.Equal(t, h.bundle.Issuer().NotAfter, resp.GetValidUntil().AsTime())
}

func TestSignCertificate_DeniedCallersLearnNothing(t *testing.T) {
	h := newHarness(t, fake.Denying(errors.New("token audience spiffe://x is wrong")))
	_, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	assert.Equal(t, "permission denied", status.Convert(err).Message())
	entries := h.logs.FilterMessage("Refused to sign certificate").All()
	require.Len(t, entries, 1)
	assert.Contains(t, entries[0].ContextMap()["error"], "token audience spiffe://x is wrong", "the log has the reason")
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.SignFailure.WithLabelValues(metrics.ReasonAuthentication)))
}

func TestSignCertificate_TokenIsCheckedBeforeTheCSR(t *testing.T) {
	h := newHarness(t, fake.Denying(errors.New("bad token")))
	_, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: []byte("garbage"),
	})
	assert.Equal(t, codes.PermissionDenied, status.Code(err), "an unauthenticated caller cannot probe CSR parsing")
}
