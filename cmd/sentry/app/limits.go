package app

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/trustplane/trustplane/pkg/sentry/server"
)

// LimitFlags are the gRPC server's limits on what callers can make Sentry
// hold (server.Limits; docs/security.md gives each default's reason).
// trustplane's flags: Dapr's Sentry runs on gRPC's defaults.
type LimitFlags struct {
	server.Limits
}

func defaultLimitFlags() LimitFlags { return LimitFlags{Limits: server.DefaultLimits()} }

func (f *LimitFlags) addFlags(fs *pflag.FlagSet) {
	fs.IntVar(&f.MaxRequestBytes, "grpc-max-request-bytes", f.MaxRequestBytes,
		"Largest request accepted, in bytes; larger ones are refused with ResourceExhausted unread (an RSA-8192 CSR, 32 audiences and a 20 KiB token fit in the default)")
	fs.IntVar(&f.MaxHeaderBytes, "grpc-max-header-bytes", f.MaxHeaderBytes, "Largest HTTP/2 header list of a request, in bytes")
	fs.IntVar(&f.MaxConnections, "max-connections", f.MaxConnections,
		"Connections open at once; beyond it new connections wait in the accept backlog until one closes (none is refused)")
	fs.IntVar(&f.MaxConcurrentStreams, "grpc-max-concurrent-streams", f.MaxConcurrentStreams, "Requests open at once on one connection")
	fs.IntVar(&f.MaxInFlight, "max-requests-in-flight", f.MaxInFlight,
		"Requests open at once over all connections; beyond it requests are refused with ResourceExhausted (which Dapr's clients retry) before they are read")
	fs.DurationVar(&f.HandshakeTimeout, "grpc-handshake-timeout", f.HandshakeTimeout, "Time a new connection has for its TLS handshake and HTTP/2 preface")
	fs.DurationVar(&f.RequestTimeout, "grpc-request-timeout", f.RequestTimeout, "Longest a request may take, from its headers to its response")
	fs.DurationVar(&f.MaxConnectionIdle, "grpc-max-connection-idle", f.MaxConnectionIdle, "A connection without a request open for this long is closed")
	fs.DurationVar(&f.MaxConnectionAge, "grpc-max-connection-age", f.MaxConnectionAge, "A connection is closed at this age, after its open requests")
}

// validate refuses limits that are not positive, and a request limit too
// small for a CSR and a token.
func (f *LimitFlags) validate() []error {
	var errs []error
	for _, v := range []struct {
		flag string
		n    int
		min  int
	}{
		{"--grpc-max-request-bytes", f.MaxRequestBytes, minRequestBytes},
		{"--grpc-max-header-bytes", f.MaxHeaderBytes, 1024},
		{"--max-connections", f.MaxConnections, 1},
		{"--grpc-max-concurrent-streams", f.MaxConcurrentStreams, 1},
		{"--max-requests-in-flight", f.MaxInFlight, 1},
	} {
		if v.n < v.min {
			errs = append(errs, fmt.Errorf("%s %d: at least %d", v.flag, v.n, v.min))
		}
	}
	for _, v := range []struct {
		flag string
		d    time.Duration
	}{
		{"--grpc-handshake-timeout", f.HandshakeTimeout}, {"--grpc-request-timeout", f.RequestTimeout},
		{"--grpc-max-connection-idle", f.MaxConnectionIdle}, {"--grpc-max-connection-age", f.MaxConnectionAge},
	} {
		if v.d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", v.flag, v.d))
		}
	}
	return errs
}

// minRequestBytes is the smallest --grpc-max-request-bytes: an RSA-4096
// CSR and a Kubernetes token fit in it.
const minRequestBytes = 8 << 10
