package server

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Limits bound what callers can make the CA server hold: every caller that
// reaches the port is assumed hostile until its token is checked, and a
// refused request must cost little. A zero field takes its default
// (DefaultLimits); docs/security.md explains each one.
type Limits struct {
	// MaxRequestBytes is the largest SignCertificateRequest accepted; a
	// larger one is refused (ResourceExhausted) by the length its first
	// bytes announce, without being buffered. Default 32 KiB: an RSA-8192
	// CSR (3 KB of PEM), MaxJWTAudiences audiences of MaxJWTAudienceBytes
	// (8 KiB) and the names leave 20 KiB for the token, where a Kubernetes
	// token is 1–2 KB and an OIDC one a few (Dapr's Sentry reads 4 MiB).
	MaxRequestBytes int
	// MaxHeaderBytes bounds a request's HTTP/2 header list. Default 16 KiB
	// (gRPC's is 16 MiB; Dapr's clients send a few hundred bytes).
	MaxHeaderBytes int
	// MaxConnections is how many connections are open at once. Beyond it
	// the server stops accepting: new connections wait in the kernel's
	// accept backlog, costing Sentry nothing, until one closes (see
	// limitListener). Default 128: an open connection costs up to ~100 KB,
	// and 128 connections of ~20–100 ms (handshake, token review, signing)
	// serve over a thousand sidecars a second, more than the signing CPU.
	MaxConnections int
	// MaxConcurrentStreams is how many requests one connection may have
	// open at once (HTTP/2 SETTINGS; gRPC clients queue beyond it).
	// Default 16: Dapr's clients make one request per connection.
	MaxConcurrentStreams int
	// MaxInFlight is how many requests the whole server has open at once.
	// Beyond it a request is refused with ResourceExhausted before its
	// message is read (Dapr's clients retry that code). Default 128, as
	// MaxConnections: clients with one request per connection, as Dapr's,
	// are never refused by it; it bounds clients that multiplex.
	MaxInFlight int
	// HandshakeTimeout bounds a new connection's TLS handshake and HTTP/2
	// preface. Default 5s.
	HandshakeTimeout time.Duration
	// RequestTimeout bounds one request from its headers to its response,
	// whatever deadline the caller set. Default 15s.
	RequestTimeout time.Duration
	// MaxConnectionIdle closes a connection that has had no request open
	// for this long. Default 30s.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge closes any connection this old (after a GOAWAY and
	// RequestTimeout for the requests open on it). Default 10m.
	MaxConnectionAge time.Duration
}

// DefaultLimits are the limits of a zero Limits. They are sized for a
// cluster restart of thousands of Dapr sidecars at once (each one
// connection and one request, connections beyond MaxConnections queue in
// the accept backlog) while keeping Sentry's memory bounded under attack.
func DefaultLimits() Limits {
	return Limits{
		MaxRequestBytes:      32 << 10,
		MaxHeaderBytes:       16 << 10,
		MaxConnections:       128,
		MaxConcurrentStreams: 16,
		MaxInFlight:          128,
		HandshakeTimeout:     5 * time.Second,
		RequestTimeout:       15 * time.Second,
		MaxConnectionIdle:    30 * time.Second,
		MaxConnectionAge:     10 * time.Minute,
	}
}

// keepaliveMinTime is the shortest interval between a client's keepalive
// pings the server tolerates (gRPC's default, made explicit); pings while
// no request is open are refused. A client that pings more often is sent
// GOAWAY.
const keepaliveMinTime = 5 * time.Minute

// flowWindow is the HTTP/2 flow-control window of each stream and of each
// connection, gRPC's minimum: a stream may send this much before Sentry
// reads it. Setting it turns off gRPC's window growth (BDP estimation, up
// to 16 MiB), which a caller could otherwise use to make Sentry buffer
// megabytes per stream.
const flowWindow = 64 << 10

// withDefaults fills zero fields and refuses negative ones.
func (l Limits) withDefaults() (Limits, error) {
	d := DefaultLimits()
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxRequestBytes", &l.MaxRequestBytes, d.MaxRequestBytes},
		{"MaxHeaderBytes", &l.MaxHeaderBytes, d.MaxHeaderBytes},
		{"MaxConnections", &l.MaxConnections, d.MaxConnections},
		{"MaxConcurrentStreams", &l.MaxConcurrentStreams, d.MaxConcurrentStreams},
		{"MaxInFlight", &l.MaxInFlight, d.MaxInFlight},
	}
	var errs []error
	for _, f := range ints {
		errs = append(errs, fill(f.name, f.v, f.def))
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"HandshakeTimeout", &l.HandshakeTimeout, d.HandshakeTimeout},
		{"RequestTimeout", &l.RequestTimeout, d.RequestTimeout},
		{"MaxConnectionIdle", &l.MaxConnectionIdle, d.MaxConnectionIdle},
		{"MaxConnectionAge", &l.MaxConnectionAge, d.MaxConnectionAge},
	}
	for _, f := range durs {
		errs = append(errs, fill(f.name, f.v, f.def))
	}
	return l, errors.Join(errs...)
}

func fill[T int | time.Duration](name string, v *T, def T) error {
	switch {
	case *v < 0:
		return fmt.Errorf("server: %s %v is negative", name, *v)
	case *v == 0:
		*v = def
	}
	return nil
}

// grpcOptions are the gRPC server options that enforce l (all but
// MaxConnections and MaxInFlight, which the listener and the admission
// enforce).
func (l Limits) grpcOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(l.MaxRequestBytes),
		grpc.MaxHeaderListSize(uint32(l.MaxHeaderBytes)),
		grpc.MaxConcurrentStreams(uint32(l.MaxConcurrentStreams)),
		grpc.ConnectionTimeout(l.HandshakeTimeout),
		grpc.InitialWindowSize(flowWindow),
		grpc.InitialConnWindowSize(flowWindow),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     l.MaxConnectionIdle,
			MaxConnectionAge:      l.MaxConnectionAge,
			MaxConnectionAgeGrace: l.RequestTimeout,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinTime}),
		// Buffers per connection: grpc-go shares the write buffer by default
		// (taken from a pool for each flush); reads are buffered by TLS
		// already.
		grpc.ReadBufferSize(0),
	}
}
