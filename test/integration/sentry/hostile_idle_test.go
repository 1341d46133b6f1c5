package sentry

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/testca"
)

// closedWithin reports whether the server closes c within d (reading
// until EOF or a reset).
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if err != nil && assert.ErrorAs(t, err, &ne) {
		return !ne.Timeout()
	}
	return true
}

// Connections that hold a slot without using it are closed: one that
// never starts its TLS handshake, one that never sends the HTTP/2 preface
// after it, and an idle gRPC connection.
func TestHostileIdleConnectionsAreClosed(t *testing.T) {
	p := startSentry(t, t.TempDir(), "--grpc-handshake-timeout", "1s", "--grpc-max-connection-idle", "1s")
	anchors := p.anchorsPEM(t)

	silent, err := net.Dial("tcp", p.GRPCAddr)
	require.NoError(t, err)
	defer silent.Close()
	tlsOnly, err := tls.Dial("tcp", p.GRPCAddr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // the peer is not authenticated: the test only holds a connection
	require.NoError(t, err)
	defer tlsOnly.Close()
	client, closeConn := p.dialNew(t, anchors)
	defer closeConn()
	_, err = client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t))})
	require.NoError(t, err)
	assert.Equal(t, 3.0, p.Counter(t, "dapr_sentry_grpc_connections"))

	start := time.Now()
	assert.True(t, closedWithin(t, silent, 5*time.Second), "a connection without a handshake is closed")
	assert.True(t, closedWithin(t, tlsOnly, 5*time.Second), "a TLS connection without HTTP/2 is closed")
	assert.Less(t, time.Since(start), 3*time.Second, "within the handshake timeout")
	assert.Eventually(t, func() bool { return p.Counter(t, "dapr_sentry_grpc_connections") == 0 }, 10*time.Second, 50*time.Millisecond,
		"the idle gRPC connection is closed after --grpc-max-connection-idle (and gRPC's 5 s GOAWAY grace)")
	assert.Equal(t, 1.0, p.sample(t, `dapr_sentry_tls_handshake_failures_total{reason="timeout"}`), "the stalled handshake is counted")
}

// With every connection slot held, by callers that idle or whose requests
// are refused, a workload still gets its certificate: the listener closes
// idle connections and those of refused callers while others wait.
func TestHostileSlotHoldersCannotStarveNewCallers(t *testing.T) {
	p := startSentry(t, t.TempDir(), "--max-connections", "4")
	anchors := p.anchorsPEM(t)
	attackCtx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	for range 2 {
		idle, err := net.Dial("tcp", p.GRPCAddr)
		require.NoError(t, err)
		defer idle.Close()
		client, closeConn := p.dialNew(t, anchors)
		defer closeConn()
		_, _ = client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{}) // up, then idle
	}
	bad := badRequests(t)
	var seen sync.Map
	for i := range 4 {
		wg.Go(func() { attack(attackCtx, t, p, anchors, bad[i%len(bad)], 1, &seen) })
	}
	require.Eventually(t, func() bool { return p.Counter(t, "dapr_sentry_grpc_connections") == 4 }, 10*time.Second, 20*time.Millisecond)

	valid := &sentryv1.SignCertificateRequest{Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t))}
	for range 5 {
		start := time.Now()
		var retried []codes.Code
		_, err := signAsDaprd(t, p, anchors, valid, func(c codes.Code) { retried = append(retried, c) })
		require.NoError(t, err, "after retries %v", retried)
		t.Logf("signed in %s (retried %v)", time.Since(start).Round(time.Millisecond), retried)
	}
}
