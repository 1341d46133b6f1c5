package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"k8s.io/utils/clock"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/metrics"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// Signer issues workload certificates; *ca.Authority is the implementation.
type Signer interface {
	// SignWorkload signs one certificate; it does not block on I/O.
	SignWorkload(ctx context.Context, req ca.SignRequest) (*ca.Issued, error)
}

// Issuance is the part of the configuration that shapes the next
// certificate.
type Issuance struct {
	WorkloadCertTTL  time.Duration
	AllowedClockSkew time.Duration
}

// Options configures New. Every field is required unless it says otherwise.
type Options struct {
	// Authority signs the certificates.
	Authority Signer
	// Validators returns the validators in force; called per request.
	Validators func() *validator.Set
	// Issuance returns the TTL and skew in force; called per request.
	Issuance func() Issuance
	// ControlPlaneTrustDomain and ControlPlaneNamespace locate the
	// control-plane services that get DNS SANs.
	ControlPlaneTrustDomain spiffeid.TrustDomain
	ControlPlaneNamespace   string
	// ClusterDomain ends the scheduler pods' DNS SANs. Default: the
	// control-plane trust domain, as Dapr's self-hosted Sentry.
	ClusterDomain string
	// GetCertificate returns Sentry's own serving certificate.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Listener is where to serve; if nil, ListenAddress is listened on.
	Listener net.Listener
	// ListenAddress is host:port, for example ":50001".
	ListenAddress string
	// JWT signs JWT-SVIDs beside each certificate. Default: none (the
	// response carries no JWT, whatever audiences are asked for).
	JWT JWTIssuer
	// Metrics records requests. Required.
	Metrics *metrics.Metrics
	// Limits bound what callers can make the server hold. Zero fields take
	// DefaultLimits.
	Limits Limits
	// Clock paces the refusal log's rate limit. Default: the real clock.
	Clock clock.WithDelayedExecution
	// Logger is scoped by the caller. Default: no logging.
	Logger *zap.Logger
}

// streamWorkers is how many goroutines serve requests. A request beyond
// them gets a goroutine of its own, which must grow its stack to the depth
// of the signing code; reusing grown workers measured ~150 instead of ~170
// µs per request in BenchmarkSignCertificate at 64 concurrent requests.
// (When every CPU is busy most requests still find the workers busy; a
// pool for the crypto alone removed that stack growth from the profile but
// not from the CPU time per certificate, so there is none.) An idle worker
// costs only its stack, which the runtime shrinks.
const streamWorkers = 64

// Server serves the CA service over TLS.
type Server struct {
	opts  Options
	ready atomic.Bool
	addr  atomic.Pointer[net.Addr]
}

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Authority == nil:
		return nil, errors.New("server: Authority is required")
	case opts.Validators == nil:
		return nil, errors.New("server: Validators is required")
	case opts.Issuance == nil:
		return nil, errors.New("server: Issuance is required")
	case opts.GetCertificate == nil:
		return nil, errors.New("server: GetCertificate is required")
	case opts.Metrics == nil:
		return nil, errors.New("server: Metrics is required")
	case opts.Listener == nil && opts.ListenAddress == "":
		return nil, errors.New("server: Listener or ListenAddress is required")
	}
	limits, err := opts.Limits.withDefaults()
	if err != nil {
		return nil, err
	}
	opts.Limits = limits
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Server{opts: opts}, nil
}

// Start serves until ctx is done, then stops gracefully. It returns nil on
// a graceful stop.
func (s *Server) Start(ctx context.Context) error {
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.ListenAddress); err != nil {
			return fmt.Errorf("server: listen on %s: %w", s.opts.ListenAddress, err)
		}
	}
	addr := ln.Addr()
	s.addr.Store(&addr)
	refusals := newRefusalLog(s.opts.Logger, s.opts.Clock)
	defer refusals.stop()
	limited := newLimitListener(ln, s.opts.Limits.MaxConnections, s.opts.Metrics.Connections)
	gs := s.newGRPCServer(limited)
	sentryv1.RegisterCAServer(gs, &service{opts: s.opts, refusals: refusals})

	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(limited) }()
	s.ready.Store(true)
	s.opts.Logger.Info("Running gRPC server", zap.String("address", addr.String()))
	select {
	case err := <-errc:
		s.ready.Store(false)
		gs.Stop()
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		gs.Stop()
		<-stopped
	}
	<-errc
	return nil
}

// newGRPCServer returns a gRPC server with Sentry's TLS and limits, to
// serve on ln.
func (s *Server) newGRPCServer(ln *limitListener) *grpc.Server {
	creds := countingCreds{
		TransportCredentials: credentials.NewTLS(&tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: s.opts.GetCertificate,
			NextProtos:     []string{"h2"},
		}),
		failures: s.opts.Metrics.HandshakeFailures,
	}
	lim := s.opts.Limits
	adm := &admission{max: int64(lim.MaxInFlight), timeout: lim.RequestTimeout, shed: s.opts.Metrics.RequestsShed, ln: ln}
	opts := append([]grpc.ServerOption{
		grpc.Creds(creds),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.InTapHandle(adm.admit),
		grpc.StatsHandler(recycler{ln: ln}),
	}, lim.grpcOptions()...)
	return grpc.NewServer(opts...)
}

// Ready reports nil once the server accepts connections.
func (s *Server) Ready() error {
	if !s.ready.Load() {
		return errors.New("gRPC server not serving")
	}
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() net.Addr {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return nil
}
