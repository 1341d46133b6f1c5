package sidecar

import (
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Names, ports and paths of the injected sidecar. They are Dapr's and form
// part of the contract with daprd images and existing manifests.
const (
	ContainerName       = "daprd"
	TokenVolumeName     = "dapr-identity-token"
	TokenMountPath      = "/var/run/secrets/dapr.io/sentrytoken"
	TokenSecretKey      = "token"
	HTTPPort            = 3500
	PublicPort          = 3501
	DefaultGRPCPort     = 50001
	DefaultInternalPort = 50002
	DefaultMetricsPort  = 9090
	DefaultDebugPort    = 40000
	DefaultListenAddrs  = "[::1],127.0.0.1"
	DefaultLogLevel     = "info"
	DefaultAppProtocol  = "http"
	HealthzPath         = "/v1.0/healthz"
	// UDSVolumeName and UDSMountPath are the in-memory volume daprd serves
	// its Unix domain sockets in, with dapr.io/unix-domain-socket-path.
	UDSVolumeName = "dapr-unix-domain-socket"
	UDSMountPath  = "/var/run/dapr-sockets"
	// ComponentsVolumeName is the emptyDir daprd and pluggable components
	// share their sockets in; DefaultComponentSocketsFolder is its mount.
	ComponentsVolumeName          = "dapr-components-unix-domain-socket"
	DefaultComponentSocketsFolder = "/tmp/dapr-components-sockets"

	// DefaultTokenExpirationSeconds is the lifetime of the projected sentry
	// token; the kubelet refreshes it at 80 %.
	DefaultTokenExpirationSeconds = 7200
	// DefaultClusterDomain is the cluster DNS suffix when none is set.
	DefaultClusterDomain = "cluster.local"
)

// ErrConfig is wrapped by Inject's errors about the injector's own Config,
// as opposed to *AnnotationError about the pod.
var ErrConfig = errors.New("sidecar: invalid injector config")

// Config is the cluster-wide part of the mutation, set by the injector's
// operator rather than by pod authors. The zero value of each optional field
// selects the documented default.
type Config struct {
	// ControlPlaneNamespace is the namespace of sentry and the injector, for
	// example dapr-system. Required.
	ControlPlaneNamespace string
	// ControlPlaneTrustDomain is the control plane's trust domain. Default
	// cluster.local.
	ControlPlaneTrustDomain string
	// ClusterDomain is the DNS suffix of Services. Default cluster.local.
	ClusterDomain string
	// SentryID is the audience of the projected sentry token. Default
	// spiffe://<ControlPlaneTrustDomain>/ns/<ControlPlaneNamespace>/dapr-sentry.
	SentryID string
	// SidecarImage is the daprd image; dapr.io/sidecar-image overrides it per
	// pod. Required unless every pod names an image.
	SidecarImage string
	// TrustAnchors is the PEM bundle of current roots, passed to daprd as
	// DAPR_TRUST_ANCHORS. Required.
	TrustAnchors string
	// MTLSEnabled adds --enable-mtls; it mirrors daprsystem spec.mtls.enabled.
	MTLSEnabled bool
	// ImagePullPolicy of the sidecar. Default IfNotPresent.
	ImagePullPolicy corev1.PullPolicy

	// SentryAddress is daprd's --sentry-address. Default
	// dapr-sentry.<ControlPlaneNamespace>.svc.<ClusterDomain>:443.
	SentryAddress string
	// ControlPlaneAddress is daprd's --control-plane-address (the operator).
	// Default dapr-api.<ControlPlaneNamespace>.svc.<ClusterDomain>:443.
	ControlPlaneAddress string
	// PlacementAddress is daprd's --placement-host-address. Default
	// dapr-placement-server.<ControlPlaneNamespace>.svc.<ClusterDomain>:50005.
	PlacementAddress string
	// DisablePlacement omits --placement-host-address unless a pod asks for it.
	DisablePlacement bool
	// SchedulerAddress is daprd's --scheduler-host-address. Default
	// dapr-scheduler-server-a.<ControlPlaneNamespace>.svc.<ClusterDomain>:443.
	SchedulerAddress string
	// DisableScheduler omits --scheduler-host-address unless a pod asks for it.
	DisableScheduler bool
	// RunAsUser and RunAsGroup, when set, go into daprd's securityContext.
	RunAsUser, RunAsGroup *int64
	// Resources are default sidecar resources; the four
	// dapr.io/sidecar-{cpu,memory}-{request,limit} annotations override
	// single values. Default none.
	Resources corev1.ResourceRequirements
	// TokenExpirationSeconds is the projected token's lifetime. Default
	// 7200; Kubernetes requires at least 600.
	TokenExpirationSeconds int64
	// ComponentSocketsFolder is where pluggable components and daprd share
	// their sockets; dapr.io/pluggable-components-sockets-folder overrides
	// it per pod. Default /tmp/dapr-components-sockets.
	ComponentSocketsFolder string
	// NativeSidecar puts daprd among the init containers with
	// restartPolicy Always (a Kubernetes sidecar container, 1.29+): it
	// starts before the app containers and does not keep a Job's pod
	// running. dapr.io/enable-native-sidecar overrides it per pod.
	NativeSidecar bool
	// AllowRoot leaves daprd's runAsNonRoot false (Dapr's
	// SIDECAR_RUN_AS_NON_ROOT=false). Default: runAsNonRoot true.
	AllowRoot bool
	// WritableRootFilesystem leaves daprd's root filesystem writable
	// (SIDECAR_READ_ONLY_ROOT_FILESYSTEM=false). Default: read-only.
	WritableRootFilesystem bool
	// KeepCapabilities keeps the runtime's default capabilities
	// (SIDECAR_DROP_ALL_CAPABILITIES=false). Default: drop ALL.
	KeepCapabilities bool
	// HostIPEnv gives daprd DAPR_HOST_IP from the downward API
	// (status.podIP), Dapr's ENABLE_K8S_DOWNWARD_APIS.
	HostIPEnv bool
	// EntrypointTolerations are tolerations of nodes (virtual kubelets)
	// that ignore an image's ENTRYPOINT: a pod with any of them gets daprd
	// as command instead of as the first argument. Dapr's
	// IGNORE_ENTRYPOINT_TOLERATIONS.
	EntrypointTolerations []corev1.Toleration
}

// complete validates c and fills the defaults.
func (c Config) complete() (Config, error) {
	if errs := validation.IsDNS1123Label(c.ControlPlaneNamespace); len(errs) > 0 {
		return c, fmt.Errorf("%w: control plane namespace %q: %v", ErrConfig, c.ControlPlaneNamespace, errs)
	}
	if c.TrustAnchors == "" {
		return c, fmt.Errorf("%w: no trust anchors", ErrConfig)
	}
	if c.ControlPlaneTrustDomain == "" {
		c.ControlPlaneTrustDomain = DefaultClusterDomain
	}
	if c.ComponentSocketsFolder == "" {
		c.ComponentSocketsFolder = DefaultComponentSocketsFolder
	} else if !cleanAbsolute(c.ComponentSocketsFolder) {
		return c, fmt.Errorf("%w: component sockets folder %q is not an absolute, clean path", ErrConfig, c.ComponentSocketsFolder)
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = DefaultClusterDomain
	}
	if c.SentryID == "" {
		td, err := spiffeid.TrustDomainFromString(c.ControlPlaneTrustDomain)
		if err != nil {
			return c, fmt.Errorf("%w: control plane trust domain: %w", ErrConfig, err)
		}
		id, err := spiffe.SentryID(td, c.ControlPlaneNamespace)
		if err != nil {
			return c, fmt.Errorf("%w: sentry ID: %w", ErrConfig, err)
		}
		c.SentryID = id.String()
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = corev1.PullIfNotPresent
	}
	if c.TokenExpirationSeconds == 0 {
		c.TokenExpirationSeconds = DefaultTokenExpirationSeconds
	}
	if c.TokenExpirationSeconds < 600 {
		return c, fmt.Errorf("%w: token expiration %ds is below Kubernetes' minimum of 600s", ErrConfig, c.TokenExpirationSeconds)
	}
	svc := func(name string, port int) string {
		return fmt.Sprintf("%s.%s.svc.%s:%d", name, c.ControlPlaneNamespace, c.ClusterDomain, port)
	}
	if c.SentryAddress == "" {
		c.SentryAddress = svc("dapr-sentry", 443)
	}
	if c.ControlPlaneAddress == "" {
		c.ControlPlaneAddress = svc("dapr-api", 443)
	}
	if c.PlacementAddress == "" {
		c.PlacementAddress = svc("dapr-placement-server", 50005)
	}
	if c.SchedulerAddress == "" {
		c.SchedulerAddress = svc("dapr-scheduler-server-a", 443)
	}
	return c, nil
}
