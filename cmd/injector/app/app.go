// Package app is the injector's command line: flags → Options → Validate → Run.
package app

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/go-logr/zapr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/trustplane/trustplane/pkg/cli"
	"github.com/trustplane/trustplane/pkg/injector/server"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/security"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Version is stamped at build time (-ldflags "-X .../app.Version=v1.2.3").
var Version = "dev"

// Main runs the injector with args and returns the process exit code.
func Main(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer) int {
	opts := NewOptions()
	return cli.Main(ctx, cli.Command{
		Name:     "injector",
		Short:    "trustplane's Dapr sidecar injector (mutating admission webhook)",
		AddFlags: opts.AddFlags,
		Prepare: func(fs *pflag.FlagSet) error {
			if err := opts.Complete(fs, lookupEnv); err != nil {
				return err
			}
			return opts.Validate()
		},
		Run: func(ctx context.Context) error { return Run(ctx, opts, stderr) },
	}, args, stderr)
}

// Run starts the injector with validated options and blocks until ctx is done.
func Run(ctx context.Context, o *Options, stderr io.Writer) error {
	host, _ := os.Hostname()
	logger, err := log.New(log.Options{
		Level: o.LogLevel, JSON: o.LogAsJSON, Scope: "dapr.injector", Instance: host, Version: Version,
		Output: zapcore.Lock(zapcore.AddSync(stderr)),
	})
	if err != nil {
		return cli.Usage(err)
	}
	defer func() { _ = logger.Sync() }()
	logger.Info(fmt.Sprintf("Starting Dapr sidecar injector -- version %s", Version))
	for _, w := range o.warnings {
		logger.Warn(w)
	}
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
		LegacyTokenFile:          o.LegacyTokenFile,
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
		NativeSidecar:    o.NativeSidecar,

		ComponentSocketsFolder: o.ComponentSocketsFolder,
		AllowRoot:              !o.SidecarRunAsNonRoot,
		WritableRootFilesystem: !o.SidecarReadOnlyRootFilesystem,
		KeepCapabilities:       !o.SidecarDropAllCapabilities,
		HostIPEnv:              o.EnableK8sDownwardAPIs,
		EntrypointTolerations:  o.entrypointTolerations,
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
