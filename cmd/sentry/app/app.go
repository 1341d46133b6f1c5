// Package app is sentry's command line: flags → Options → Validate → Run.
package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/trustplane/trustplane/pkg/cli"
	"github.com/trustplane/trustplane/pkg/healthz"
	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/ca/store/file"
	"github.com/trustplane/trustplane/pkg/sentry/expiry"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Version is stamped at build time (-ldflags "-X .../app.Version=v1.2.3").
var Version = "dev"

// Main runs sentry with args and returns the process exit code.
func Main(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer) int {
	opts := NewOptions()
	return cli.Main(ctx, cli.Command{
		Name:     "sentry",
		Short:    "trustplane's SPIFFE certificate authority (Dapr Sentry compatible)",
		AddFlags: opts.AddFlags,
		Prepare: func(fs *pflag.FlagSet) error {
			opts.Parsed(fs)
			opts.Complete(lookupEnv)
			return opts.Validate()
		},
		Run: func(ctx context.Context) error { return Run(ctx, opts, lookupEnv, stderr) },
	}, DaprArgs(args), stderr)
}

// DaprArgs turns Dapr's single-dash long flags ("-port 50001", which
// Dapr's sentry accepts) into pflag's double-dash ones, as Dapr does.
func DaprArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

// Run starts sentry with validated options and blocks until ctx is done.
func Run(ctx context.Context, o *Options, lookupEnv func(string) (string, bool), stderr io.Writer) error {
	host, _ := os.Hostname()
	out := stderr
	if o.LogFile != "" {
		// Like Dapr's --log-file: appended to, instead of the standard stream.
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return cli.Usage(fmt.Errorf("--log-file: %w", err))
		}
		defer func() { _ = f.Close() }()
		out = f
	}
	logger, err := log.New(log.Options{
		Level: o.LogLevel, JSON: o.LogAsJSON, Scope: "dapr.sentry", Instance: host, Version: Version,
		Output: zapcore.Lock(zapcore.AddSync(out)),
	})
	if err != nil {
		return cli.Usage(err)
	}
	defer func() { _ = logger.Sync() }()
	logger.Info(fmt.Sprintf("Starting Dapr Sentry certificate authority -- version %s", Version))
	if err := checkNotRoot(o.Mode, os.Geteuid(), lookupEnv, logger); err != nil {
		logger.Error("Sentry failed", zap.Error(err))
		return err
	}

	err = run(ctx, o, lookupEnv, logger)
	if err != nil {
		logger.Error("Sentry failed", zap.Error(err))
	}
	return err
}

func run(ctx context.Context, o *Options, lookupEnv func(string) (string, bool), logger *zap.Logger) error {
	td, err := spiffe.TrustDomain(o.TrustDomain)
	if err != nil {
		return err
	}
	// Bind the CA's port first: a port in use fails before anything is
	// generated or written, and a caller that connects during start-up
	// waits in the accept queue instead of being refused.
	addr := hostPort(o.ListenAddress, o.Port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer func() { _ = ln.Close() }() // after the server has, if it started: harmless
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := sentry.Options{
		TrustDomain:   td,
		Namespace:     o.Namespace,
		GRPCListener:  ln,
		GRPCLimits:    o.Limits.Limits,
		WaitForBundle: !o.GenerateCA,
		KeyAlgorithm:  bundle.KeyAlgorithm(o.KeyAlgorithm),
		Registry:      reg,
		Logger:        logger,
	}
	if o.Mode == ModeKubernetes {
		resolver := &net.Resolver{PreferGo: true, StrictErrors: true}
		opts.ClusterDomain = clusterDomain(ctx, resolver.LookupCNAME, td.String(), logger)
		kp, err := newKubeParts(ctx, o, td, reg, logger)
		if err != nil {
			return err
		}
		defer kp.shutdown()
		opts.Store, opts.Config, opts.Platform, opts.OnBundleRejected, opts.Anchors = kp.store, kp.config, kp.platform, kp.onRejected, kp.anchors
		opts.OnExpiryWarning = kp.onExpiry
	} else {
		store, err := file.New(file.Options{
			Dir: o.IssuerCredentials, RootFile: o.RootFile, IssuerFile: o.IssuerFile, KeyFile: o.KeyFile,
			JWT: o.JWT.fileOptions(), Logger: logger.Named("store"),
		})
		if err != nil {
			return err
		}
		logger.Info("Using local file system for trust bundle storage", zap.String("dir", o.IssuerCredentials))
		cfg, err := newConfigSource(o.ConfigFile, lookupEnv, logger.Named("config"))
		if err != nil {
			return err
		}
		opts.Store, opts.Config = store, cfg
	}
	opts.JWT = o.JWT.sentryOptions()
	if o.HealthzPort != 0 {
		opts.HealthzAddress = hostPort(o.HealthzListenAddress, o.HealthzPort)
	}
	if o.EnableMetrics {
		opts.MetricsAddress = hostPort(o.MetricsListenAddress, o.MetricsPort)
	}
	s, err := sentry.New(opts)
	if err != nil {
		return err
	}
	if o.ProfilePort != 0 {
		go serveProfiles(ctx, hostPort("127.0.0.1", o.ProfilePort), logger)
	}
	return s.Start(ctx)
}

// kubeParts are the Kubernetes-mode pieces of Sentry.
type kubeParts struct {
	store      sentry.BundleStore
	config     sentry.ConfigSource
	platform   sentry.PlatformValidator
	anchors    sentry.AnchorsPublisher
	onRejected func(error)
	onExpiry   func(expiry.Warning)
	shutdown   func()
}

// serveProfiles serves net/http/pprof for `make bench` and investigations.
func serveProfiles(ctx context.Context, addr string, logger *zap.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("Cannot serve profiles", zap.Error(err))
		return
	}
	logger.Info("Serving pprof", zap.String("address", strings.TrimSpace(ln.Addr().String())))
	limits := healthz.DefaultServerLimits()
	limits.WriteTimeout = 0 // a CPU profile streams for ?seconds=N
	_ = healthz.ServeServer(ctx, ln, healthz.NewServer(mux, limits))
}
