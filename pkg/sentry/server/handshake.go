package server

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/credentials"

	"github.com/trustplane/trustplane/pkg/sentry/metrics"
)

// countingCreds counts the server handshakes that fail, by reason, in
// dapr_sentry_tls_handshake_failures_total: a rise in timeouts is a
// stalling client (or an overloaded Sentry), one in TLS errors a client
// that does not trust Sentry or speaks something else.
type countingCreds struct {
	credentials.TransportCredentials
	failures *prometheus.CounterVec
}

// ServerHandshake runs the TLS handshake and counts its failure.
func (c countingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	tc, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.failures.WithLabelValues(handshakeReason(err)).Inc()
	}
	return tc, info, err
}

// Clone returns a copy counting on the same collector.
func (c countingCreds) Clone() credentials.TransportCredentials {
	return countingCreds{TransportCredentials: c.TransportCredentials.Clone(), failures: c.failures}
}

// handshakeReason classifies a failed handshake: the peer left (eof), the
// handshake timeout passed (timeout), or TLS failed (tls).
func handshakeReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET):
		return metrics.HandshakeEOF
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return metrics.HandshakeTimeout
	}
	return metrics.HandshakeTLS
}
