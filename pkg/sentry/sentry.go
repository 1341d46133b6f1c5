package sentry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/healthz"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/pkg/sentry/expiry"
	"github.com/trustplane/trustplane/pkg/sentry/metrics"
	"github.com/trustplane/trustplane/pkg/sentry/server"
	"github.com/trustplane/trustplane/pkg/sentry/servingcert"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// BundleStore persists the trust bundle (files self-hosted, a Secret in
// Kubernetes).
type BundleStore interface {
	// Load returns the stored bundle, or an error wrapping
	// bundle.ErrNotFound when nothing is stored at all.
	Load() (*bundle.Bundle, error)
	// Save stores a newly generated bundle; it never overwrites.
	Save(b *bundle.Bundle) error
	// Watch calls onChange with each valid new bundle and onError with each
	// invalid one until ctx is done.
	Watch(ctx context.Context, onChange func(*bundle.Bundle), onError func(error)) error
}

// ConfigSource gives the configuration in force.
type ConfigSource interface {
	// Current is the configuration in force; it must be cheap.
	Current() config.Config
	// Start follows changes until ctx is done, calling onChange after
	// each accepted one.
	Start(ctx context.Context, onChange func(config.Config)) error
}

// PlatformValidator is the validator an environment provides, such as the
// Kubernetes token validator: always enabled, the default, and run for as
// long as Sentry runs.
type PlatformValidator interface {
	validator.Validator
	// Name is the validator's name on the wire.
	Name() validator.Name
	// Start runs the validator's caches until ctx is done.
	Start(ctx context.Context) error
	// Ready reports whether the validator can validate.
	Ready() bool
}

// AnchorsPublisher publishes the trust anchors beyond the store, such as
// pkg/sentry/anchors in every namespace of Dapr pods (Kubernetes mode).
type AnchorsPublisher interface {
	// SetRoots sets the PEM roots to publish; it must not block.
	SetRoots(roots []byte)
	// Start publishes until ctx is done.
	Start(ctx context.Context) error
}

// Options configures New.
type Options struct {
	// TrustDomain is the control-plane trust domain. Required.
	TrustDomain spiffeid.TrustDomain
	// Namespace is Sentry's namespace. Required.
	Namespace string
	// KeyAlgorithm is the algorithm of a generated root and issuer and of
	// Sentry's serving key. Default Ed25519, as Dapr v1.18.
	KeyAlgorithm bundle.KeyAlgorithm
	// ClusterDomain ends the scheduler's DNS SANs (see ca.DNSNamesFor).
	// Default: the trust domain, as Dapr's self-hosted Sentry.
	ClusterDomain string
	// Store holds the trust bundle. Required.
	Store BundleStore
	// Config is the configuration source. Required.
	Config ConfigSource
	// Platform is the environment's validator (Kubernetes mode); nil
	// self-hosted.
	Platform PlatformValidator
	// Anchors publishes every root of the bundle in force to the workloads'
	// namespaces (Kubernetes mode); nil publishes nothing beyond the store.
	Anchors AnchorsPublisher
	// WaitForBundle makes Sentry wait while the store holds no bundle, or
	// part of one, instead of generating a CA: the bundle has another owner
	// (cert-manager, external-secrets, trustctl, a person). Sentry is live
	// and not ready meanwhile, and reads the store every 5 s. Default:
	// generate.
	WaitForBundle bool
	// OnBundleRejected is told of every stored bundle Sentry refuses, for
	// example to emit a Kubernetes Event. Optional.
	OnBundleRejected func(error)
	// OnExpiryWarning is told of every hourly expiry warning about a root or
	// the issuer, for example to emit a Kubernetes Event. Optional.
	OnExpiryWarning func(expiry.Warning)
	// JWT turns on JWT-SVID issuance (and, with JWT.OIDC, the discovery
	// server). Default: off.
	JWT *JWTOptions
	// GRPCListener or GRPCAddress is where the CA is served.
	GRPCListener net.Listener
	GRPCAddress  string
	// GRPCLimits bound what callers can make the gRPC server hold; zero
	// fields take server.DefaultLimits.
	GRPCLimits server.Limits
	// HealthzAddress serves /livez, /healthz and /readyz (see pkg/healthz);
	// empty disables it.
	HealthzAddress string
	// MetricsAddress serves Prometheus metrics; empty disables it.
	MetricsAddress string
	// Registry receives Sentry's collectors. Default: a new registry.
	Registry *prometheus.Registry
	// Clock is the time source. Default: the real clock.
	Clock clock.WithTicker
	// Logger is scoped "dapr.sentry" by the caller. Default: none.
	Logger *zap.Logger
}

// Sentry is an assembled CA, ready to Start.
type Sentry struct {
	opts     Options
	metrics  *metrics.Metrics
	health   *healthz.Handler
	sentryID spiffeid.ID
}

// New checks opts and returns a Sentry.
func New(opts Options) (*Sentry, error) {
	if opts.TrustDomain.IsZero() || opts.Store == nil || opts.Config == nil {
		return nil, errors.New("sentry: TrustDomain, Store and Config are required")
	}
	if err := opts.checkJWT(); err != nil {
		return nil, err
	}
	id, err := spiffe.SentryID(opts.TrustDomain, opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", err)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Sentry{opts: opts, metrics: metrics.New(opts.Registry), health: healthz.New(), sentryID: id}, nil
}

// ID is Sentry's SPIFFE ID.
func (s *Sentry) ID() spiffeid.ID { return s.sentryID }

// Start loads (or generates) the trust bundle and serves until ctx is done.
// It returns nil after a graceful stop, or why Sentry could not run.
func (s *Sentry) Start(ctx context.Context) error {
	log := s.opts.Logger
	cfg := s.opts.Config.Current()
	ctx, cancel := context.WithCancel(ctx)
	var health *healthServer
	defer func() { cancel(); health.wait() }()
	health, err := s.serveHealth(ctx)
	if err != nil {
		return err
	}
	startup := &startupCheck{}
	s.health.AddReadyCheck("startup", startup.check)

	b, err := s.loadBundle(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for the bundle
		}
		return err
	}
	startup.stage.Store(stageStarting)
	if b, err = s.ensureJWT(b); err != nil {
		return err
	}
	s.observeBundle(b)
	authority, err := ca.New(ca.Options{Bundle: b, Clock: s.opts.Clock})
	if err != nil {
		return fmt.Errorf("sentry: %w", err)
	}
	if s.opts.Anchors != nil {
		s.opts.Anchors.SetRoots(b.RootsPEM)
	}
	log.Info("CA certificate key pair ready", zap.Time("issuer_not_after", b.Issuer().NotAfter))

	jwtIssuer, err := s.newJWTIssuer(b)
	if err != nil {
		return err
	}
	oidcSrv, err := s.oidcServer(jwtIssuer)
	if err != nil {
		return err
	}

	vals := &validators{sentryID: s.sentryID, platform: s.opts.Platform, logger: log.Named("validator")}
	if err := vals.apply(ctx, cfg.TokenValidators); err != nil {
		return fmt.Errorf("sentry: configure validators: %w", err)
	}
	defer vals.wait()

	issuance := func() server.Issuance {
		c := s.opts.Config.Current()
		return server.Issuance{WorkloadCertTTL: c.WorkloadCertTTL, AllowedClockSkew: c.AllowedClockSkew}
	}
	serving, err := servingcert.New(servingcert.Options{
		Signer: authority,
		ID:     s.sentryID,
		Lifetime: func() (time.Duration, time.Duration) {
			i := issuance()
			return i.WorkloadCertTTL, i.AllowedClockSkew
		},
		Clock:        s.opts.Clock,
		KeyAlgorithm: s.opts.KeyAlgorithm,
		OnIssueError: func(error) { s.metrics.ServerCertIssueFailed.WithLabelValues("ca_error").Inc() },
		Logger:       log.Named("servingcert"),
	})
	if err != nil {
		return fmt.Errorf("sentry: %w", err)
	}
	if err := serving.Issue(ctx); err != nil {
		return fmt.Errorf("sentry: %w", err)
	}

	srvOpts := server.Options{
		Authority:               authority,
		Validators:              vals.Get,
		Issuance:                issuance,
		ControlPlaneTrustDomain: s.opts.TrustDomain,
		ControlPlaneNamespace:   s.opts.Namespace,
		ClusterDomain:           s.opts.ClusterDomain,
		GetCertificate:          serving.GetCertificate,
		Listener:                s.opts.GRPCListener,
		ListenAddress:           s.opts.GRPCAddress,
		Limits:                  s.opts.GRPCLimits,
		Metrics:                 s.metrics,
		Logger:                  log.Named("server"),
	}
	if jwtIssuer != nil {
		srvOpts.JWT = jwtIssuer
	}
	srv, err := server.New(srvOpts)
	if err != nil {
		return fmt.Errorf("sentry: %w", err)
	}
	s.health.AddReadyCheck("sentry-server", srv.Ready)
	s.health.AddReadyCheck("security-provider", serving.Ready)
	s.health.AddReadyCheck("validators", vals.ready)

	onBundle := func(nb *bundle.Bundle) { s.applyBundle(nb, authority, serving, jwtIssuer) }
	onBundleError := func(err error) {
		log.Error("Rejected new trust bundle; the current one keeps serving", zap.Error(err))
		if s.opts.OnBundleRejected != nil {
			s.opts.OnBundleRejected(err)
		}
	}
	onConfig := func(c config.Config) {
		if err := vals.apply(ctx, c.TokenValidators); err != nil {
			log.Error("Rejected new token validators; the current ones stay in force", zap.Error(err))
		}
	}

	// The expiry lines log on Sentry's own logger, unnamed: Dapr's were
	// scoped exactly "dapr.sentry" and log alerts match on that.
	expiryChecker, err := expiry.New(expiry.Options{
		Bundle: authority.Bundle, Clock: s.opts.Clock, Logger: log,
		OnWarning: func(w expiry.Warning) {
			s.metrics.ExpiryWarnings.WithLabelValues(string(w.Certificate)).Inc()
			if s.opts.OnExpiryWarning != nil {
				s.opts.OnExpiryWarning(w)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("sentry: %w", err)
	}

	rs := []runnable{
		{"grpc-server", srv.Start},
		{"expiry-checker", expiryChecker.Start},
		{"serving-certificate", serving.Start},
		{"bundle-watcher", func(ctx context.Context) error { return s.opts.Store.Watch(ctx, onBundle, onBundleError) }},
		{"config-watcher", func(ctx context.Context) error { return s.opts.Config.Start(ctx, onConfig) }},
	}
	if s.opts.Platform != nil {
		rs = append(rs, runnable{string(s.opts.Platform.Name()) + "-validator", s.opts.Platform.Start})
	}
	if oidcSrv != nil {
		s.health.AddReadyCheck("oidc-server", oidcSrv.Ready)
		rs = append(rs, runnable{"oidc-server", oidcSrv.Start})
	}
	if s.opts.Anchors != nil {
		rs = append(rs, runnable{"trust-anchors-distributor", s.opts.Anchors.Start})
	}
	if health != nil {
		rs = append(rs, runnable{"healthz-server", health.run})
	}
	if s.opts.MetricsAddress != "" {
		r, err := s.metricsServer()
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	startup.stage.Store(stageStarted) // every other check is registered
	err = runAll(ctx, rs...)
	if err == nil {
		log.Info("Sentry shut down gracefully")
	}
	return err
}

// metricsServer binds MetricsAddress (a taken port fails Start) and
// returns the runnable that serves it. Its readiness check passes from
// here on: like Dapr's, /healthz is 200 only once the metrics port accepts.
func (s *Sentry) metricsServer() (runnable, error) {
	ln, err := net.Listen("tcp", s.opts.MetricsAddress)
	if err != nil {
		return runnable{}, fmt.Errorf("sentry: metrics server: %w", err)
	}
	h := promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{Registry: s.opts.Registry})
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.Handle("/", h)
	s.health.AddReadyCheck("metrics-server", func() error { return nil })
	return runnable{"metrics-server", func(ctx context.Context) error { return healthz.ServeListener(ctx, ln, mux) }}, nil
}

// Ready reports whether Sentry serves (for tests and embedding).
func (s *Sentry) Ready() error { return s.health.Ready() }
