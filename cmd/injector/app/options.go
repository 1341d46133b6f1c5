package app

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/trustplane/trustplane/pkg/injector/server"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/pkg/security"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Options are the injector's flags. Names and defaults follow Dapr's
// injector where they make sense; each flag marked in envFlags can also be
// set by the environment variable Dapr's chart sets, and the flag wins.
type Options struct {
	// Port and ListenAddress are where the HTTPS webhook listens.
	Port          int
	ListenAddress string
	// HealthzPort and HealthzListenAddress serve /livez (liveness), and
	// /healthz and /readyz (readiness, Dapr's /healthz) (0 disables).
	HealthzPort          int
	HealthzListenAddress string
	// EnableMetrics, MetricsPort and MetricsListenAddress serve Prometheus metrics.
	EnableMetrics        bool
	MetricsPort          int
	MetricsListenAddress string
	// Kubeconfig is a kubeconfig file outside a cluster (default: in-cluster, else $KUBECONFIG).
	Kubeconfig string
	// LogLevel and LogAsJSON choose the log output.
	LogLevel  string
	LogAsJSON bool

	// Namespace is the control-plane namespace ($NAMESPACE). Required.
	Namespace string
	// ControlPlaneTrustDomain is Sentry's trust domain.
	ControlPlaneTrustDomain string
	// SentryAddress is Sentry's gRPC address (default dapr-sentry.<namespace>.svc:443).
	SentryAddress string
	// TokenFile is the projected token for Sentry; when it does not exist,
	// LegacyTokenFile, else no token (Sentry's default validator decides).
	TokenFile string
	// LegacyTokenFile is the pod's default service-account token ("" none).
	LegacyTokenFile string
	// KeyType is the serving key's type (rsa-2048, Dapr's, by default;
	// ecdsa-p256, ed25519).
	KeyType string
	// TrustAnchorsFile is the mounted dapr-trust-bundle ca.crt.
	TrustAnchorsFile string
	// TrustAnchorsConfigMap, when set, reads the anchors from that
	// ConfigMap through the API instead of TrustAnchorsFile.
	TrustAnchorsConfigMap string
	// Configuration is the control-plane Configuration read for mTLS.
	Configuration string
	// WebhookConfiguration is the MutatingWebhookConfiguration whose caBundle is kept.
	WebhookConfiguration string

	// SidecarImage is the daprd image. Required.
	SidecarImage string
	// SidecarImagePullPolicy is Always, Never or IfNotPresent.
	SidecarImagePullPolicy string
	// ClusterDomain is the cluster's DNS suffix.
	ClusterDomain string
	// SidecarRunAsUser and SidecarRunAsGroup go into daprd's securityContext when >= 0.
	SidecarRunAsUser, SidecarRunAsGroup int64
	// SchedulerEnabled and ActorsEnabled give daprd the scheduler and placement addresses.
	SchedulerEnabled, ActorsEnabled bool
	// NativeSidecar injects daprd as a Kubernetes sidecar container (an init
	// container with restartPolicy Always) unless a pod says otherwise.
	NativeSidecar bool
	// ComponentSocketsFolder is the default socket folder of pluggable
	// components ("" for /tmp/dapr-components-sockets).
	ComponentSocketsFolder string
	// SidecarRunAsNonRoot, SidecarReadOnlyRootFilesystem and
	// SidecarDropAllCapabilities harden daprd's securityContext (all true
	// by default).
	SidecarRunAsNonRoot, SidecarReadOnlyRootFilesystem, SidecarDropAllCapabilities bool
	// EnableK8sDownwardAPIs gives daprd DAPR_HOST_IP (the pod IP).
	EnableK8sDownwardAPIs bool
	// IgnoreEntrypointTolerations is a JSON array of tolerations; a pod
	// with any of them gets daprd as its container command.
	IgnoreEntrypointTolerations string
	// entrypointTolerations is IgnoreEntrypointTolerations, parsed by Validate.
	entrypointTolerations []corev1.Toleration

	// AllowedServiceAccounts are namespace:name globs allowed to create injected pods.
	AllowedServiceAccounts []string
	// AllowedGroups are user groups allowed to create injected pods.
	AllowedGroups []string
	// WarnOnly admits a pod whose token Secret is missing or has no key
	// "token", with an admission warning, instead of denying it.
	WarnOnly bool

	// fromEnv are the flags Complete set from the environment.
	fromEnv map[string]bool
	// warnings are what Validate let pass from the environment, for Run
	// to log.
	warnings []string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Port:                    4000,
		HealthzPort:             8080,
		EnableMetrics:           true,
		MetricsPort:             9090,
		LogLevel:                "info",
		ControlPlaneTrustDomain: "cluster.local",
		TokenFile:               security.DefaultKubernetesTokenFile,
		LegacyTokenFile:         security.DefaultLegacyTokenFile,
		KeyType:                 server.DefaultKeyType.String(),
		TrustAnchorsFile:        "/var/run/secrets/dapr.io/tls/ca.crt",
		Configuration:           "daprsystem",
		WebhookConfiguration:    "dapr-sidecar-injector",
		SidecarImagePullPolicy:  string(corev1.PullIfNotPresent),
		ClusterDomain:           "cluster.local",
		SidecarRunAsUser:        -1,
		SidecarRunAsGroup:       -1,
		SchedulerEnabled:        true,
		ActorsEnabled:           true,

		SidecarRunAsNonRoot:           true,
		SidecarReadOnlyRootFilesystem: true,
		SidecarDropAllCapabilities:    true,
	}
}

// envFlags maps flags to the environment variables of Dapr's chart.
var envFlags = []struct{ flag, env string }{
	{"namespace", "NAMESPACE"},
	{"control-plane-trust-domain", "DAPR_CONTROL_PLANE_TRUST_DOMAIN"},
	{"sentry-address", "DAPR_SENTRY_ADDRESS"},
	{"token-file", "DAPR_SENTRY_TOKEN_FILE"},
	{"trust-anchors-file", "DAPR_TRUST_ANCHORS_FILE"},
	{"sidecar-image", "SIDECAR_IMAGE"},
	{"sidecar-image-pull-policy", "SIDECAR_IMAGE_PULL_POLICY"},
	{"kube-cluster-domain", "KUBE_CLUSTER_DOMAIN"},
	{"sidecar-run-as-user", "SIDECAR_RUN_AS_USER"},
	{"sidecar-run-as-group", "SIDECAR_RUN_AS_GROUP"},
	{"sidecar-run-as-non-root", "SIDECAR_RUN_AS_NON_ROOT"},
	{"sidecar-read-only-root-filesystem", "SIDECAR_READ_ONLY_ROOT_FILESYSTEM"},
	{"sidecar-drop-all-capabilities", "SIDECAR_DROP_ALL_CAPABILITIES"},
	{"enable-k8s-downward-apis", "ENABLE_K8S_DOWNWARD_APIS"},
	{"ignore-entrypoint-tolerations", "IGNORE_ENTRYPOINT_TOLERATIONS"},
	{"actors-enabled", "ACTORS_ENABLED"},
	{"native-sidecar", "NATIVE_SIDECAR_ENABLED"},
	{"component-sockets-folder", "DAPR_COMPONENT_SOCKETS_FOLDER"},
	{"allowed-service-accounts", "ALLOWED_SERVICE_ACCOUNTS"},
}

// AddFlags binds the options to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Port, "port", o.Port, "HTTPS webhook port")
	fs.StringVar(&o.ListenAddress, "listen-address", o.ListenAddress, "HTTPS webhook listen address (default all interfaces)")
	fs.IntVar(&o.HealthzPort, "healthz-port", o.HealthzPort, "Port of /livez (liveness), and /healthz and /readyz (ready: serving certificate, webhook server and caBundle) (0 disables)")
	fs.StringVar(&o.HealthzListenAddress, "healthz-listen-address", o.HealthzListenAddress, "Listen address of the health server")
	fs.BoolVar(&o.EnableMetrics, "enable-metrics", o.EnableMetrics, "Serve Prometheus metrics")
	fs.IntVar(&o.MetricsPort, "metrics-port", o.MetricsPort, "Prometheus metrics port")
	fs.StringVar(&o.MetricsListenAddress, "metrics-listen-address", o.MetricsListenAddress, "Prometheus metrics listen address")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig file outside a cluster (default in-cluster, else $KUBECONFIG)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "Log level: debug, info, warn, error or fatal")
	fs.BoolVar(&o.LogAsJSON, "log-as-json", o.LogAsJSON, "Log JSON lines in Dapr's format")

	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "Control-plane namespace, Sentry's and the injector's ($NAMESPACE; required)")
	fs.StringVar(&o.ControlPlaneTrustDomain, "control-plane-trust-domain", o.ControlPlaneTrustDomain, "Control-plane trust domain ($DAPR_CONTROL_PLANE_TRUST_DOMAIN)")
	fs.StringVar(&o.SentryAddress, "sentry-address", o.SentryAddress, "Sentry's gRPC address ($DAPR_SENTRY_ADDRESS; default dapr-sentry.<namespace>.svc:443)")
	fs.StringVar(&o.TokenFile, "token-file", o.TokenFile, "Projected service-account token with Sentry's SPIFFE ID as audience, for Sentry's Kubernetes validator ($DAPR_SENTRY_TOKEN_FILE); "+
		"when it does not exist, --legacy-token-file, else no token and no validator named (Sentry's default decides), as Dapr's injector")
	fs.StringVar(&o.LegacyTokenFile, "legacy-token-file", o.LegacyTokenFile, "Service-account token used when --token-file does not exist (empty for none)")
	fs.StringVar(&o.KeyType, "key-type", o.KeyType, "Serving key type: rsa-2048 (Dapr's; some managed API servers accept no other for webhooks), ecdsa-p256 or ed25519")
	fs.StringVar(&o.TrustAnchorsFile, "trust-anchors-file", o.TrustAnchorsFile, "Trust anchors PEM, the mounted dapr-trust-bundle ConfigMap ($DAPR_TRUST_ANCHORS_FILE); watched")
	fs.StringVar(&o.TrustAnchorsConfigMap, "trust-anchors-configmap", o.TrustAnchorsConfigMap, "Read the trust anchors (key ca.crt) from this ConfigMap in --namespace through the API instead of --trust-anchors-file")
	fs.StringVar(&o.Configuration, "config", o.Configuration, "Control-plane Configuration in --namespace whose spec.mtls.enabled the sidecars get")
	fs.StringVar(&o.WebhookConfiguration, "webhook-configuration", o.WebhookConfiguration, "MutatingWebhookConfiguration whose caBundle is kept equal to the trust anchors")

	fs.StringVar(&o.SidecarImage, "sidecar-image", o.SidecarImage, "daprd image ($SIDECAR_IMAGE; required)")
	fs.StringVar(&o.SidecarImagePullPolicy, "sidecar-image-pull-policy", o.SidecarImagePullPolicy, "Sidecar pull policy: Always, Never or IfNotPresent ($SIDECAR_IMAGE_PULL_POLICY)")
	fs.StringVar(&o.ClusterDomain, "kube-cluster-domain", o.ClusterDomain, "Cluster DNS domain ($KUBE_CLUSTER_DOMAIN)")
	fs.Int64Var(&o.SidecarRunAsUser, "sidecar-run-as-user", o.SidecarRunAsUser, "daprd runAsUser ($SIDECAR_RUN_AS_USER; -1 leaves it unset)")
	fs.Int64Var(&o.SidecarRunAsGroup, "sidecar-run-as-group", o.SidecarRunAsGroup, "daprd runAsGroup ($SIDECAR_RUN_AS_GROUP; -1 leaves it unset)")
	fs.BoolVar(&o.SidecarRunAsNonRoot, "sidecar-run-as-non-root", o.SidecarRunAsNonRoot, "daprd runAsNonRoot ($SIDECAR_RUN_AS_NON_ROOT)")
	fs.BoolVar(&o.SidecarReadOnlyRootFilesystem, "sidecar-read-only-root-filesystem", o.SidecarReadOnlyRootFilesystem,
		"daprd readOnlyRootFilesystem ($SIDECAR_READ_ONLY_ROOT_FILESYSTEM)")
	fs.BoolVar(&o.SidecarDropAllCapabilities, "sidecar-drop-all-capabilities", o.SidecarDropAllCapabilities,
		"Drop ALL capabilities of daprd ($SIDECAR_DROP_ALL_CAPABILITIES)")
	fs.BoolVar(&o.EnableK8sDownwardAPIs, "enable-k8s-downward-apis", o.EnableK8sDownwardAPIs,
		"Give daprd DAPR_HOST_IP, the pod IP from the downward API ($ENABLE_K8S_DOWNWARD_APIS)")
	fs.StringVar(&o.IgnoreEntrypointTolerations, "ignore-entrypoint-tolerations", o.IgnoreEntrypointTolerations,
		"JSON array of tolerations of nodes that ignore image ENTRYPOINTs (virtual kubelets); a pod with any gets daprd as command ($IGNORE_ENTRYPOINT_TOLERATIONS)")
	fs.BoolVar(&o.SchedulerEnabled, "scheduler-enabled", o.SchedulerEnabled, "Give daprd the scheduler address")
	fs.BoolVar(&o.ActorsEnabled, "actors-enabled", o.ActorsEnabled, "Give daprd the placement address ($ACTORS_ENABLED)")
	fs.StringVar(&o.ComponentSocketsFolder, "component-sockets-folder", o.ComponentSocketsFolder, "Default folder where pluggable components (dapr.io/pluggable-components) and daprd share sockets ($DAPR_COMPONENT_SOCKETS_FOLDER; default /tmp/dapr-components-sockets)")
	fs.BoolVar(&o.NativeSidecar, "native-sidecar", o.NativeSidecar, "Inject daprd as a Kubernetes sidecar container (init container with restartPolicy Always; Kubernetes 1.29+) unless dapr.io/enable-native-sidecar says otherwise ($NATIVE_SIDECAR_ENABLED)")

	fs.StringSliceVar(&o.AllowedServiceAccounts, "allowed-service-accounts", o.AllowedServiceAccounts, "namespace:name globs of service accounts allowed to create injected pods ($ALLOWED_SERVICE_ACCOUNTS)")
	fs.StringSliceVar(&o.AllowedGroups, "allowed-groups", o.AllowedGroups, "User groups allowed to create injected pods")
	fs.BoolVar(&o.WarnOnly, "token-secret-warn-only", o.WarnOnly, "Admit a pod whose dapr.io/api-token-secret or app-token-secret is missing or has no key \"token\", with a warning, instead of denying it")
}

// Complete fills flags left unset from the environment and derives
// defaults. A value that does not parse is returned as an error.
func (o *Options) Complete(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) error {
	var errs []error
	for _, e := range envFlags {
		v, ok := lookupEnv(e.env)
		if !ok || strings.TrimSpace(v) == "" || fs.Changed(e.flag) {
			continue
		}
		if err := fs.Set(e.flag, strings.TrimSpace(v)); err != nil {
			errs = append(errs, fmt.Errorf("$%s: %w", e.env, err))
			continue
		}
		if o.fromEnv == nil {
			o.fromEnv = map[string]bool{}
		}
		o.fromEnv[e.flag] = true
	}
	if _, inCluster := lookupEnv("KUBERNETES_SERVICE_HOST"); o.Kubeconfig == "" && !inCluster {
		o.Kubeconfig, _ = lookupEnv("KUBECONFIG")
	}
	if o.SentryAddress == "" && o.Namespace != "" {
		o.SentryAddress = "dapr-sentry." + o.Namespace + ".svc:443"
	}
	return errors.Join(errs...)
}

// Validate checks the options together.
func (o *Options) Validate() error {
	var errs []error
	if o.Namespace == "" {
		errs = append(errs, errors.New("--namespace (or $NAMESPACE) is required"))
	} else if err := spiffe.ValidateNamespace(o.Namespace); err != nil {
		errs = append(errs, fmt.Errorf("--namespace: %w", err))
	}
	if _, err := spiffe.TrustDomain(o.ControlPlaneTrustDomain); err != nil {
		errs = append(errs, fmt.Errorf("--control-plane-trust-domain: %w", err))
	}
	if o.SentryAddress != "" {
		if _, _, err := net.SplitHostPort(o.SentryAddress); err != nil {
			errs = append(errs, fmt.Errorf("--sentry-address: %w", err))
		}
	}
	if o.SidecarImage == "" {
		errs = append(errs, errors.New("--sidecar-image (or $SIDECAR_IMAGE) is required"))
	}
	switch corev1.PullPolicy(o.SidecarImagePullPolicy) {
	case corev1.PullAlways, corev1.PullNever, corev1.PullIfNotPresent:
	default:
		errs = append(errs, fmt.Errorf("--sidecar-image-pull-policy %q: use Always, Never or IfNotPresent", o.SidecarImagePullPolicy))
	}
	if o.SidecarRunAsNonRoot && o.SidecarRunAsUser == 0 {
		errs = append(errs, errors.New("--sidecar-run-as-user 0 is root, which --sidecar-run-as-non-root forbids: daprd would never start"))
	}
	tol, err := sidecar.ParseTolerations(o.IgnoreEntrypointTolerations)
	switch {
	case err != nil && o.fromEnv["ignore-entrypoint-tolerations"]:
		// Dapr's chart renders its default with escaped quotes, which
		// Dapr's injector cannot parse either: it warns and ignores it.
		o.warnings = append(o.warnings, fmt.Sprintf("Ignoring $IGNORE_ENTRYPOINT_TOLERATIONS, as Dapr's injector does: %v "+
			"(no pod gets daprd as its command; set a JSON array, for example %s)", err, sidecar.VirtualNodeTolerations))
	case err != nil:
		errs = append(errs, fmt.Errorf("--ignore-entrypoint-tolerations: %w", err))
	default:
		o.entrypointTolerations = tol
	}
	if _, err := security.ParseKeyType(o.KeyType); err != nil {
		errs = append(errs, fmt.Errorf("--key-type: %w", err))
	}
	if o.TokenFile == "" {
		errs = append(errs, errors.New("--token-file is required (it need not exist)"))
	}
	if o.TrustAnchorsFile == "" && o.TrustAnchorsConfigMap == "" {
		errs = append(errs, errors.New("--trust-anchors-file or --trust-anchors-configmap is required"))
	}
	for _, sa := range o.AllowedServiceAccounts {
		if strings.Count(sa, ":") != 1 {
			errs = append(errs, fmt.Errorf("--allowed-service-accounts %q: want namespace:name", sa))
		}
	}
	for _, p := range []struct {
		name string
		port int
		zero bool
	}{{"--port", o.Port, false}, {"--healthz-port", o.HealthzPort, true}, {"--metrics-port", o.MetricsPort, false}} {
		if p.port < 0 || p.port > 65535 || (p.port == 0 && !p.zero) {
			errs = append(errs, fmt.Errorf("%s %d: not a port", p.name, p.port))
		}
	}
	return errors.Join(errs...)
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
