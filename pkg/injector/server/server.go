package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-logr/zapr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"go.uber.org/zap"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/pkg/accessreview"
	"github.com/trustplane/trustplane/pkg/healthz"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/pkg/injector/webhook"
	"github.com/trustplane/trustplane/pkg/security"
	sentryconfig "github.com/trustplane/trustplane/pkg/sentry/config"
	kubeconfig "github.com/trustplane/trustplane/pkg/sentry/config/kubernetes"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Names shared with Sentry and the Helm chart.
const (
	// AppID is the injector's identity at Sentry. Sentry adds the DNS SAN
	// dapr-sidecar-injector.<namespace>.svc to its certificate.
	AppID = "dapr-injector"
	// MutatePath is the webhook's path.
	MutatePath = "/mutate"
	// DefaultKeyType is the serving key's default type: RSA 2048, as Dapr's
	// injector (dapr/kit's spiffe.KeyAlgorithmRSA), on purpose: some
	// managed API servers reject other key types in a webhook's serving
	// certificate.
	DefaultKeyType = security.KeyTypeRSA2048
	// DefaultTrustAnchorsConfigMapKey is the key of the anchors in the
	// dapr-trust-bundle ConfigMap Sentry publishes.
	DefaultTrustAnchorsConfigMapKey = "ca.crt"
)

// Options configures Run.
type Options struct {
	// RestConfig reaches the API server. Required.
	RestConfig *rest.Config
	// Namespace is the control-plane namespace (Sentry's and the
	// injector's). Required.
	Namespace string
	// ControlPlaneTrustDomain is Sentry's trust domain. Required.
	ControlPlaneTrustDomain spiffeid.TrustDomain
	// SentryAddress is Sentry's gRPC address, host:port. Required.
	SentryAddress string
	// TokenFile is the projected service-account token (audience: the
	// Sentry SPIFFE ID) the injector presents to Sentry for its Kubernetes
	// validator. When the file does not exist, LegacyTokenFile is used, and
	// without either no token is sent and no validator named, so Sentry's
	// default decides: Dapr's choice (security.KubernetesToken). Default
	// security.DefaultKubernetesTokenFile.
	TokenFile string
	// LegacyTokenFile is the pod's default service-account token, used
	// when TokenFile does not exist. Empty: none.
	LegacyTokenFile string
	// KeyType is the serving key's type; DefaultKeyType is the injector's
	// default (the zero value is ECDSA P-256).
	KeyType security.KeyType
	// TrustAnchorsFile is the mounted dapr-trust-bundle ConfigMap's ca.crt,
	// watched. Used when TrustAnchorsConfigMap is empty.
	TrustAnchorsFile string
	// TrustAnchorsConfigMap, when set, names the ConfigMap in Namespace
	// whose ca.crt holds the anchors, read and watched through the API
	// server instead of a mounted file (for a process outside a pod, such
	// as tests against envtest). It needs get, list and watch on it.
	TrustAnchorsConfigMap string
	// ConfigurationName is the control-plane Configuration whose
	// spec.mtls.enabled the sidecars get. Default "daprsystem".
	ConfigurationName string
	// WebhookConfigurationName is the MutatingWebhookConfiguration whose
	// caBundle is kept. Default DefaultWebhookConfigurationName.
	WebhookConfigurationName string
	// WebhookHost and WebhookPort are where the HTTPS webhook listens.
	WebhookHost string
	WebhookPort int
	// HealthzAddress serves /livez (the process serves HTTP), and /healthz
	// and /readyz (ready: the serving certificate is there, the webhook
	// server answers TLS with it and the caBundle matched the anchors
	// once), with pkg/healthz's meaning; empty disables.
	HealthzAddress string
	// MetricsAddress serves Prometheus metrics at /metrics; empty disables.
	MetricsAddress string
	// Sidecar is the cluster-wide sidecar configuration; the control-plane
	// fields, the trust anchors and mTLS are filled in here.
	Sidecar sidecar.Config
	// AllowedServiceAccounts, AllowedGroups and WarnOnly are the admission
	// policy, see webhook.Options.
	AllowedServiceAccounts, AllowedGroups []string
	WarnOnly                              bool
	// Registry receives the injector's metrics and is served. Default a
	// new registry.
	Registry *prometheus.Registry
	// Review answers the start-up access reviews (see rbac.go). Default
	// SelfSubjectAccessReviews as RestConfig's identity.
	Review accessreview.Reviewer
	// WebhookResync is how often the caBundle is read back by a no-op patch
	// when RBAC does not allow watching the MutatingWebhookConfiguration.
	// Default DefaultPatchOnlyResync.
	WebhookResync time.Duration
	// ConfigurationPoll is how often the Configuration is read when RBAC
	// does not allow watching it. Default 10s.
	ConfigurationPoll time.Duration
	// Clock schedules retries. Default the real clock.
	Clock clock.WithTicker
	// Logger receives logs. Default none.
	Logger *zap.Logger
}

func (o *Options) validate() error {
	var errs []error
	if o.RestConfig == nil {
		errs = append(errs, errors.New("RestConfig is required"))
	}
	if err := spiffe.ValidateNamespace(o.Namespace); err != nil {
		errs = append(errs, err)
	}
	if o.ControlPlaneTrustDomain.IsZero() {
		errs = append(errs, errors.New("ControlPlaneTrustDomain is required"))
	}
	if o.SentryAddress == "" {
		errs = append(errs, errors.New("SentryAddress is required"))
	}
	if o.TrustAnchorsFile == "" && o.TrustAnchorsConfigMap == "" {
		errs = append(errs, errors.New("TrustAnchorsFile or TrustAnchorsConfigMap is required"))
	}
	if o.WebhookPort <= 0 || o.WebhookPort > 65535 {
		errs = append(errs, fmt.Errorf("webhook port %d: not a port", o.WebhookPort))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("injector server: %w", err)
	}
	if o.ConfigurationName == "" {
		o.ConfigurationName = kubeconfig.DefaultName
	}
	if o.WebhookConfigurationName == "" {
		o.WebhookConfigurationName = DefaultWebhookConfigurationName
	}
	if o.TokenFile == "" {
		o.TokenFile = security.DefaultKubernetesTokenFile
	}
	if o.WebhookResync <= 0 {
		o.WebhookResync = DefaultPatchOnlyResync
	}
	if o.ConfigurationPoll <= 0 {
		o.ConfigurationPoll = configPollInterval
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return nil
}

// Run starts the injector and blocks until ctx is done or a part fails:
//
//  0. the health server (/livez at once; /healthz and /readyz 503 until
//     ready) and one review of the injector's RBAC, which chooses how the
//     parts below read the API (see rbac.go);
//  1. trust anchors: the watched file, or the ConfigMap through the API;
//  2. the serving certificate: an X.509-SVID for dapr-injector from Sentry,
//     renewed at half-life, served through tls.Config.GetCertificate so each
//     handshake uses the live one;
//  3. the daprsystem Configuration, watched (or polled), for
//     spec.mtls.enabled;
//  4. a controller-runtime manager running the HTTPS webhook at /mutate,
//     the caBundle patcher and the metrics server.
//
// /healthz and /readyz turn ready once the SVID is there, the webhook
// server answers TLS with it and the caBundle matched the anchors once:
// Dapr's chart probes /healthz for readiness, so the API server sends no
// admission before the injector can answer it.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger := o.Logger
	client, err := kubernetes.NewForConfig(o.RestConfig)
	if err != nil {
		return fmt.Errorf("create kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(o.RestConfig)
	if err != nil {
		return fmt.Errorf("create kubernetes client: %w", err)
	}
	sentryID, err := spiffe.SentryID(o.ControlPlaneTrustDomain, o.Namespace)
	if err != nil {
		return err
	}

	parts := newGroup(ctx)
	defer parts.stop()
	ready := newReadiness()
	if o.HealthzAddress != "" {
		parts.run("health server", func(ctx context.Context) error { return healthz.Serve(ctx, o.HealthzAddress, ready.handler) })
	}
	review := o.Review
	if review == nil {
		if review, err = accessreview.SelfSubjectAccessReviews(o.RestConfig); err != nil {
			return err
		}
	}
	rights := checkRBAC(ctx, review, &o, logger.Named("rbac"))

	anchors := NewAnchors(logger.Named("anchors"), o.Clock)
	anchorsFile, err := startAnchors(parts, anchors, client, &o)
	if err != nil {
		return err
	}

	sec, err := security.New(security.Options{
		SentryAddress: o.SentryAddress, SentryID: sentryID, TrustAnchorsFile: anchorsFile,
		AppID: AppID, Namespace: o.Namespace,
		// The control plane's trust domain, as Dapr's control plane asks:
		// Sentry's Kubernetes validator would choose it anyway, and a
		// validator that takes the requested one (a self-hosted Sentry's)
		// must not put the injector in "public", where it gets no DNS SAN.
		TrustDomain: o.ControlPlaneTrustDomain.String(),
		Token:       security.KubernetesToken(o.TokenFile, o.LegacyTokenFile, logger.Named("security")),
		KeyType:     o.KeyType, Clock: o.Clock, Logger: logger.Named("security"),
	})
	if err != nil {
		return fmt.Errorf("create sentry client: %w", err)
	}
	ready.set(checkSentryIdentity, func() error { _, err := sec.GetX509SVID(); return err })
	parts.run("sentry client", sec.Start)

	cfgSource, err := startConfiguration(ctx, parts, dyn, &o, rights.watchConfiguration)
	if err != nil {
		return err
	}

	base := o.Sidecar
	base.ControlPlaneNamespace = o.Namespace
	base.ControlPlaneTrustDomain = o.ControlPlaneTrustDomain.Name()
	base.SentryID = sentryID.String()
	handler, err := webhook.New(webhook.Options{
		Config: func() sidecar.Config {
			c := base
			c.MTLSEnabled = cfgSource.Current().MTLSEnabled
			c.TrustAnchors = string(anchors.Current())
			return c
		},
		Secrets:                SecretGetter{Client: client},
		Components:             ComponentGetter{Client: dyn},
		WarnOnly:               o.WarnOnly,
		AllowedServiceAccounts: o.AllowedServiceAccounts,
		AllowedGroups:          o.AllowedGroups,
		Registerer:             o.Registry,
		Logger:                 logger.Named("webhook"),
		Clock:                  o.Clock,
	})
	if err != nil {
		return err
	}
	patcher, err := NewCABundlePatcher(CABundlePatcherOptions{
		Client: client, Name: o.WebhookConfigurationName, Anchors: anchors,
		PatchOnly: !rights.watchWebhook, Resync: o.WebhookResync,
		Clock: o.Clock, Logger: logger.Named("cabundle"),
	})
	if err != nil {
		return err
	}
	ready.set(checkWebhookConfiguration, patcher.Ready)

	mgr, err := newManager(o, sec, handler, patcher)
	if err != nil {
		return err
	}
	started := mgr.GetWebhookServer().StartedChecker()
	ready.set(checkWebhookServer, func() error {
		// No handshake can succeed before the certificate is there (and
		// each failed one is a log line of the webhook server's).
		if _, err := sec.GetX509SVID(); err != nil {
			return errors.New("waiting for the serving certificate")
		}
		return started(nil)
	})
	parts.run("manager", mgr.Start)
	logger.Info("Injector started", zap.String("webhook", net.JoinHostPort(o.WebhookHost, strconv.Itoa(o.WebhookPort))+MutatePath))
	return parts.wait()
}

// startConfiguration loads the control-plane Configuration and keeps it
// current: watched when RBAC allows, else read every ConfigurationPoll.
func startConfiguration(ctx context.Context, parts *group, dyn dynamic.Interface, o *Options, watch bool) (*kubeconfig.Source, error) {
	logger := o.Logger.Named("config")
	src, err := kubeconfig.New(kubeconfig.Options{Client: dyn, Namespace: o.Namespace, Name: o.ConfigurationName, Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := src.Load(ctx); err != nil {
		if !errors.Is(err, sentryconfig.ErrInvalid) {
			return nil, err
		}
		logger.Warn("The control-plane Configuration is invalid; sidecars get mTLS enabled until it is fixed", zap.Error(err))
	}
	if watch {
		parts.run("configuration watch", func(ctx context.Context) error { return src.Start(ctx, nil) })
		return src, nil
	}
	res := dyn.Resource(v1alpha1.GroupVersionResource).Namespace(o.Namespace)
	parts.run("configuration poll", func(ctx context.Context) error {
		return pollConfiguration(ctx, src, res, o.ConfigurationName, o.Clock, o.ConfigurationPoll, logger)
	})
	return src, nil
}

// startAnchors loads the first anchors and keeps them current. It returns
// the file the Sentry client should watch: the mounted file, or a private
// copy of the ConfigMap's anchors.
func startAnchors(parts *group, anchors *Anchors, client kubernetes.Interface, o *Options) (string, error) {
	if o.TrustAnchorsConfigMap == "" {
		if err := anchors.LoadFile(o.TrustAnchorsFile); err != nil {
			return "", err
		}
		parts.run("trust anchors file watch", func(ctx context.Context) error { return anchors.WatchFile(ctx, o.TrustAnchorsFile) })
		return o.TrustAnchorsFile, nil
	}
	parts.run("trust anchors configmap watch", func(ctx context.Context) error {
		return anchors.WatchConfigMap(ctx, client, o.Namespace, o.TrustAnchorsConfigMap, DefaultTrustAnchorsConfigMapKey)
	})
	o.Logger.Info("Waiting for the trust anchors ConfigMap", zap.String("configmap", o.Namespace+"/"+o.TrustAnchorsConfigMap))
	select {
	case <-anchors.Ready():
	case <-parts.done():
		return "", parts.wait()
	}
	dir, err := os.MkdirTemp("", "dapr-injector-anchors-")
	if err != nil {
		return "", fmt.Errorf("create trust anchors copy: %w", err)
	}
	path := filepath.Join(dir, DefaultTrustAnchorsConfigMapKey)
	parts.cleanup(func() { _ = os.RemoveAll(dir) })
	ready := make(chan struct{})
	parts.run("trust anchors copy", func(ctx context.Context) error { return anchors.MirrorToFile(ctx, path, ready) })
	select {
	case <-ready:
	case <-parts.done():
		return "", parts.wait()
	}
	return path, nil
}

// newManager assembles the controller-runtime manager: the webhook server
// with the live SVID and the caBundle patcher. Its own health probes and
// metrics server are off: the health server is ours (pkg/healthz's
// meaning of /livez, /healthz and /readyz), and ours serves Registry plus
// controller-runtime's registry.
func newManager(o Options, sec *security.Client, handler admission.Handler, patcher *CABundlePatcher) (ctrl.Manager, error) {
	mgr, err := ctrl.New(o.RestConfig, ctrl.Options{
		Logger:                 zapr.NewLogger(o.Logger.Named("manager")),
		HealthProbeBindAddress: "0",
		Metrics:                metricsserver.Options{BindAddress: "0"},
		WebhookServer: crwebhook.NewServer(crwebhook.Options{
			Host: o.WebhookHost, Port: o.WebhookPort,
			TLSOpts: []func(*tls.Config){func(c *tls.Config) {
				c.MinVersion = tls.VersionTLS12
				c.GetCertificate = tlsconfig.GetCertificate(sec)
			}},
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	mgr.GetWebhookServer().Register(MutatePath, &crwebhook.Admission{Handler: handler, RecoverPanic: ptr.To(true)})
	if err := mgr.Add(patcher); err != nil {
		return nil, fmt.Errorf("add caBundle patcher: %w", err)
	}
	if o.MetricsAddress != "" {
		if err := mgr.Add(metricsServer(o.MetricsAddress, o.Registry)); err != nil {
			return nil, fmt.Errorf("add metrics server: %w", err)
		}
	}
	return mgr, nil
}
