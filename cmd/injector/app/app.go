// Package app is the injector's command line: flags → Options → Validate → Run.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-logr/zapr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/trustplane/trustplane/pkg/injector/server"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/security"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Version is stamped at build time (-ldflags "-X .../app.Version=v1.2.3").
var Version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Main runs the injector with args and returns the process exit code.
func Main(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer) int {
	opts := NewOptions()
	var runErr error
	cmd := &cobra.Command{
		Use:           "injector",
		Short:         "trustplane's Dapr sidecar injector (mutating admission webhook)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Complete(cmd.Flags(), lookupEnv); err != nil {
				return usageError{err}
			}
			if err := opts.Validate(); err != nil {
				return usageError{err}
			}
			runErr = Run(cmd.Context(), opts, stderr)
			return runErr
		},
	}
	cmd.SetArgs(doubleDash(args))
	cmd.SetErr(stderr)
	cmd.SetOut(stderr)
	opts.AddFlags(cmd.Flags())
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	if err := cmd.ExecuteContext(ctx); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "injector: %v\nRun 'injector --help' for usage.\n", ue.err)
			return exitUsage
		}
		if runErr == nil {
			fmt.Fprintf(stderr, "injector: %v\n", err)
		}
		return exitError
	}
	return exitOK
}

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }

// doubleDash rewrites Dapr's single-dash long flags (-port) to --port.
func doubleDash(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

// Run starts the injector with validated options and blocks until ctx is done.
func Run(ctx context.Context, o *Options, stderr io.Writer) error {
	host, _ := os.Hostname()
	logger, err := log.New(log.Options{
		Level: o.LogLevel, JSON: o.LogAsJSON, Scope: "dapr.injector", Instance: host, Version: Version,
		Output: zapcore.Lock(zapcore.AddSync(stderr)),
	})
	if err != nil {
		return usageError{err}
	}
	defer func() { _ = logger.Sync() }()
	logger.Info(fmt.Sprintf("Starting Dapr sidecar injector -- version %s", Version))
	// controller-runtime logs through its process-wide logger; main owns it.
	ctrllog.SetLogger(zapr.NewLogger(logger.Named("controller-runtime")))
	if err := run(ctx, o, logger); err != nil {
		logger.Error("Injector failed", zap.Error(err))
		return err
	}
	logger.Info("Injector shut down gracefully")
	return nil
}

func run(ctx context.Context, o *Options, logger *zap.Logger) error {
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "dapr-sidecar-injector/" + Version
	td, err := spiffe.TrustDomain(o.ControlPlaneTrustDomain)
	if err != nil {
		return err
	}
	keyType, err := security.ParseKeyType(o.KeyType)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	so := server.Options{
		RestConfig:               cfg,
		Namespace:                o.Namespace,
		ControlPlaneTrustDomain:  td,
		SentryAddress:            o.SentryAddress,
		TokenFile:                o.TokenFile,
		KeyType:                  keyType,
		TrustAnchorsFile:         o.TrustAnchorsFile,
		TrustAnchorsConfigMap:    o.TrustAnchorsConfigMap,
		ConfigurationName:        o.Configuration,
		WebhookConfigurationName: o.WebhookConfiguration,
		WebhookHost:              o.ListenAddress,
		WebhookPort:              o.Port,
		Sidecar:                  sidecarConfig(o),
		AllowedServiceAccounts:   o.AllowedServiceAccounts,
		AllowedGroups:            o.AllowedGroups,
		WarnOnly:                 o.WarnOnly,
		Registry:                 reg,
		Logger:                   logger,
	}
	if o.HealthzPort != 0 {
		so.HealthzAddress = hostPort(o.HealthzListenAddress, o.HealthzPort)
	}
	if o.EnableMetrics {
		so.MetricsAddress = hostPort(o.MetricsListenAddress, o.MetricsPort)
	}
	return server.Run(ctx, so)
}

// sidecarConfig is the cluster-wide part of the sidecar from the flags;
// the server fills in the control plane, the anchors and mTLS.
func sidecarConfig(o *Options) sidecar.Config {
	c := sidecar.Config{
		ClusterDomain:    o.ClusterDomain,
		SidecarImage:     o.SidecarImage,
		ImagePullPolicy:  corev1.PullPolicy(o.SidecarImagePullPolicy),
		DisableScheduler: !o.SchedulerEnabled,
		DisablePlacement: !o.ActorsEnabled,
	}
	if o.SidecarRunAsUser >= 0 {
		c.RunAsUser = ptr.To(o.SidecarRunAsUser)
	}
	if o.SidecarRunAsGroup >= 0 {
		c.RunAsGroup = ptr.To(o.SidecarRunAsGroup)
	}
	return c
}

// restConfig is --kubeconfig's configuration, else the in-cluster one.
func restConfig(path string) (*rest.Config, error) {
	if path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", path, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("not in a cluster and no --kubeconfig: %w", err)
	}
	return cfg, nil
}
