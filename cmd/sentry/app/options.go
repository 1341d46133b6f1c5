package app

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Modes of --mode.
const (
	ModeStandalone = "standalone"
	ModeKubernetes = "kubernetes"
)

// Options are sentry's command-line flags. Names and defaults follow Dapr's
// sentry where they make sense.
type Options struct {
	// ConfigFile is, self-hosted, the path of a Configuration YAML (default
	// none: Dapr's defaults, workloadCertTTL 24h and allowedClockSkew 15m)
	// and, in Kubernetes mode, the name of the Configuration in Sentry's
	// namespace (default daprsystem).
	ConfigFile string
	// Kubeconfig is a kubeconfig file for Kubernetes mode outside a cluster
	// (default: the in-cluster configuration, else $KUBECONFIG).
	Kubeconfig string
	// IssuerCredentials is the directory of the trust bundle files.
	IssuerCredentials string
	// RootFile, IssuerFile and KeyFile name the bundle files in
	// IssuerCredentials (an absolute path overrides the directory).
	RootFile, IssuerFile, KeyFile string
	// KeyAlgorithm is the algorithm of a generated root and issuer and of
	// Sentry's serving key (trustplane's flag; Dapr v1.18 uses Ed25519).
	KeyAlgorithm string
	// GenerateCA generates a root and issuer when the store holds none;
	// false waits for the bundle's owner to store it. Default true.
	GenerateCA bool
	// TrustDomain is the control-plane trust domain.
	TrustDomain string
	// Namespace is Sentry's namespace (default: $NAMESPACE, else "default").
	Namespace string
	// Port and ListenAddress are where the gRPC CA listens.
	Port          int
	ListenAddress string
	// HealthzPort and HealthzListenAddress serve /healthz and /readyz (0 disables).
	HealthzPort          int
	HealthzListenAddress string
	// EnableMetrics, MetricsPort and MetricsListenAddress serve Prometheus metrics.
	EnableMetrics        bool
	MetricsPort          int
	MetricsListenAddress string
	// ProfilePort serves net/http/pprof on 127.0.0.1 when non-zero.
	ProfilePort int
	// LogLevel is debug, info, warn, error or fatal; LogAsJSON selects
	// Dapr's JSON lines; LogFile, when set, receives the log instead of the
	// standard error stream (appended to, as Dapr's).
	LogLevel  string
	LogAsJSON bool
	LogFile   string
	// Mode is standalone or kubernetes.
	Mode string
	// JWT are the JWT-SVID and OIDC discovery flags.
	JWT JWTFlags
	// Limits bound what callers can make the gRPC server hold.
	Limits LimitFlags
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		IssuerCredentials: "/var/run/secrets/dapr.io/credentials",
		RootFile:          "ca.crt",
		IssuerFile:        "issuer.crt",
		KeyFile:           "issuer.key",
		GenerateCA:        true,
		KeyAlgorithm:      string(bundle.KeyEd25519),
		TrustDomain:       "localhost",
		Port:              50001,
		HealthzPort:       8080,
		EnableMetrics:     true,
		MetricsPort:       9090,
		LogLevel:          "info",
		Mode:              ModeStandalone,
		JWT:               defaultJWTFlags(),
		Limits:            defaultLimitFlags(),
	}
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ConfigFile, "config", o.ConfigFile, "Self-hosted: path of a Configuration YAML; Kubernetes: name of the Configuration in Sentry's namespace (default daprsystem). Reloaded on change")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig file for --mode kubernetes outside a cluster (default in-cluster, else $KUBECONFIG)")
	fs.StringVar(&o.IssuerCredentials, "issuer-credentials", o.IssuerCredentials, "Directory of the trust bundle files; generated there when it holds none of them")
	fs.StringVar(&o.RootFile, "issuer-ca-filename", o.RootFile, "Root certificate (trust anchors) file name")
	fs.StringVar(&o.IssuerFile, "issuer-certificate-filename", o.IssuerFile, "Issuer certificate (chain) file name")
	fs.StringVar(&o.KeyFile, "issuer-key-filename", o.KeyFile, "Issuer private key file name")
	fs.BoolVar(&o.GenerateCA, "generate-ca", o.GenerateCA,
		"Generate a root and issuer when the trust bundle store holds none; false waits (live, not ready) for their owner, such as cert-manager, to store them")
	fs.StringVar(&o.KeyAlgorithm, "key-algorithm", o.KeyAlgorithm,
		"Algorithm of a generated root and issuer key and of Sentry's serving key: ed25519 (Dapr v1.18's) or ecdsa-p256 (trustplane's flag)")
	fs.StringVar(&o.TrustDomain, "trust-domain", o.TrustDomain, "Control-plane trust domain")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Sentry's namespace (default $NAMESPACE, else \"default\")")
	fs.IntVar(&o.Port, "port", o.Port, "gRPC port")
	fs.StringVar(&o.ListenAddress, "listen-address", o.ListenAddress, "gRPC listen address (default all interfaces)")
	fs.IntVar(&o.HealthzPort, "healthz-port", o.HealthzPort, "Port of /healthz and /readyz (0 disables)")
	fs.StringVar(&o.HealthzListenAddress, "healthz-listen-address", o.HealthzListenAddress, "Listen address of the health server")
	fs.BoolVar(&o.EnableMetrics, "enable-metrics", o.EnableMetrics, "Serve Prometheus metrics")
	fs.IntVar(&o.MetricsPort, "metrics-port", o.MetricsPort, "Prometheus metrics port")
	fs.StringVar(&o.MetricsListenAddress, "metrics-listen-address", o.MetricsListenAddress, "Prometheus metrics listen address")
	fs.IntVar(&o.ProfilePort, "profile-port", o.ProfilePort, "Serve pprof on 127.0.0.1:<port> (0 disables)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "Log level: debug, info, warn, error or fatal")
	fs.BoolVar(&o.LogAsJSON, "log-as-json", o.LogAsJSON, "Log JSON lines in Dapr's format")
	fs.StringVar(&o.LogFile, "log-file", o.LogFile, "Path of a file the log is appended to instead of standard error")
	fs.StringVar(&o.Mode, "mode", o.Mode, "Runtime mode: standalone or kubernetes")
	o.JWT.addFlags(fs)
	o.Limits.addFlags(fs)
}

// Parsed records what only the parsed flag set tells: which flags were
// given at all.
func (o *Options) Parsed(fs *pflag.FlagSet) {
	o.JWT.IssuerSet = fs.Changed("jwt-issuer")
}

// Complete fills what flags left empty from the environment.
func (o *Options) Complete(lookupEnv func(string) (string, bool)) {
	if o.Mode == ModeKubernetes {
		if o.ConfigFile == "" {
			o.ConfigFile = "daprsystem"
		}
		if _, inCluster := lookupEnv("KUBERNETES_SERVICE_HOST"); o.Kubeconfig == "" && !inCluster {
			o.Kubeconfig, _ = lookupEnv("KUBECONFIG")
		}
	}
	if o.Namespace == "" {
		if ns, ok := lookupEnv("NAMESPACE"); ok && ns != "" {
			o.Namespace = ns
		} else {
			o.Namespace = "default"
		}
	}
}

// Validate checks the options together.
func (o *Options) Validate() error {
	var errs []error
	switch o.Mode {
	case ModeStandalone:
	case ModeKubernetes:
		if !kubernetesBuilt {
			errs = append(errs, errors.New("--mode kubernetes: this is the standalone build of sentry, without Kubernetes support; run the full build (bin/sentry, the container image)"))
		}
	default:
		errs = append(errs, fmt.Errorf("--mode %q: use standalone or kubernetes", o.Mode))
	}
	if !slices.Contains(bundle.KeyAlgorithms, bundle.KeyAlgorithm(o.KeyAlgorithm)) {
		errs = append(errs, fmt.Errorf("--key-algorithm %q: use %s or %s", o.KeyAlgorithm, bundle.KeyEd25519, bundle.KeyECDSAP256))
	}
	if o.IssuerCredentials == "" {
		errs = append(errs, errors.New("--issuer-credentials is required"))
	}
	if _, err := spiffe.TrustDomain(o.TrustDomain); err != nil {
		errs = append(errs, fmt.Errorf("--trust-domain: %w", err))
	}
	if err := spiffe.ValidateNamespace(o.Namespace); err != nil {
		errs = append(errs, fmt.Errorf("--namespace: %w", err))
	}
	for _, p := range []struct {
		name string
		port int
		zero bool
	}{{"--port", o.Port, false}, {"--healthz-port", o.HealthzPort, true}, {"--metrics-port", o.MetricsPort, false}, {"--profile-port", o.ProfilePort, true}} {
		if p.port < 0 || p.port > 65535 || (p.port == 0 && !p.zero) {
			errs = append(errs, fmt.Errorf("%s %d: not a port", p.name, p.port))
		}
	}
	errs = append(errs, o.JWT.validate()...)
	errs = append(errs, o.Limits.validate()...)
	return errors.Join(errs...)
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
