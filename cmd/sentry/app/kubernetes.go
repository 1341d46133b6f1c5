//go:build !standalone

package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trustplane/trustplane/pkg/accessreview"
	"github.com/trustplane/trustplane/pkg/sentry"
	"github.com/trustplane/trustplane/pkg/sentry/anchors"
	kubestore "github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	kubeconfig "github.com/trustplane/trustplane/pkg/sentry/config/kubernetes"
	"github.com/trustplane/trustplane/pkg/sentry/expiry"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
	kubevalidator "github.com/trustplane/trustplane/pkg/sentry/validator/kubernetes"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// kubernetesBuilt reports that this build has --mode kubernetes.
const kubernetesBuilt = true

// kubeOptions are the Kubernetes store's JWT options; nil when JWT is off.
func (f *JWTFlags) kubeOptions() *kubestore.JWTOptions {
	if !f.Enabled {
		return nil
	}
	return &kubestore.JWTOptions{KeyKey: filepath.Base(f.KeyFile), JWKSKey: filepath.Base(f.JWKSFile), Parse: f.parseOptions()}
}

// platformValidator names the Kubernetes validator for Sentry.
type platformValidator struct{ *kubevalidator.Validator }

func (platformValidator) Name() validator.Name { return validator.Kubernetes }

// restConfig is the in-cluster configuration, or --kubeconfig's.
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

func newKubeParts(ctx context.Context, o *Options, td spiffeid.TrustDomain, reg prometheus.Registerer, logger *zap.Logger) (*kubeParts, error) {
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "dapr-sentry/" + Version
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	review, err := accessreview.SelfSubjectAccessReviews(cfg)
	if err != nil {
		return nil, err
	}
	rights := checkRBAC(ctx, review, o, kubestore.DefaultSecretName, kubestore.DefaultConfigMapName, logger)
	ev := newEvents(client.CoreV1(), o.Namespace, !rights.events)
	recorder := ev.recorder
	shutdown := func() { ev.shutdown(5 * time.Second) }

	storeOpts := kubestore.Options{
		Client: client, Namespace: o.Namespace,
		RootKey: o.RootFile, IssuerKey: o.IssuerFile, KeyKey: o.KeyFile, JWT: o.JWT.kubeOptions(),
		Recorder: recorder, Logger: logger.Named("store"),
	}
	if !rights.watchSecret {
		storeOpts.PollSecret = secretPollInterval
	}
	if !rights.watchConfigMap {
		storeOpts.PollConfigMap = secretPollInterval
	}
	store, err := kubestore.New(storeOpts)
	if err != nil {
		shutdown()
		return nil, err
	}
	logger.Info("Using kubernetes secret store for trust bundle storage", zap.String("namespace", o.Namespace))

	configSource, err := kubeconfig.New(kubeconfig.Options{
		Config: cfg, Namespace: o.Namespace, Name: o.ConfigFile, Recorder: recorder, Logger: logger.Named("config"),
	})
	if err == nil {
		err = configSource.Load(ctx)
	}
	if err != nil {
		shutdown()
		return nil, err
	}

	sentryID, err := spiffe.SentryID(td, o.Namespace)
	if err != nil {
		shutdown()
		return nil, err
	}
	// The validator builds its own client from cfg, and with it its own
	// rate limit (kubevalidator.DefaultClientQPS and DefaultClientBurst,
	// sized for the TokenReviews of a restart storm), apart from the one
	// of the store's, the Events' and the anchors' client (client-go's
	// default): a flood of tokens cannot hold up writing the trust bundle.
	// Its local token checks allow the live spec.mtls.allowedClockSkew.
	v, err := kubevalidator.New(kubevalidator.Options{
		Config: cfg, SentryID: sentryID, ControlPlaneTrustDomain: td, ControlPlaneNamespace: o.Namespace,
		ClockSkew:  func() time.Duration { return configSource.Current().AllowedClockSkew },
		Registerer: reg, Logger: logger.Named("validator").Named("kubernetes"),
	})
	if err != nil {
		shutdown()
		return nil, err
	}
	// Without the RBAC to publish them, no anchors ConfigMaps: an interface
	// holding a nil *anchors.Distributor would not be nil.
	var distributor sentry.AnchorsPublisher
	if rights.anchors {
		d, err := anchors.New(anchors.Options{Client: client, SentryNamespace: o.Namespace, Logger: logger.Named("anchors")})
		if err != nil {
			shutdown()
			return nil, err
		}
		distributor = d
	}
	logger.Info("Adding validator 'kubernetes'", zap.String("sentry_id", sentryID.String()))
	return &kubeParts{
		store:    store,
		config:   configSource,
		platform: platformValidator{v},
		anchors:  distributor,
		onRejected: func(err error) {
			// The store records Events for the Secrets it cannot read; this
			// covers bundles that read well but fail verification (expired).
			if errors.Is(err, kubestore.ErrIncomplete) || errors.Is(err, kubestore.ErrInvalid) {
				return
			}
			recorder.Event(&corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: o.Namespace, Name: kubestore.DefaultSecretName},
				corev1.EventTypeWarning, "TrustBundleRejected", err.Error())
		},
		onExpiry: func(w expiry.Warning) {
			recorder.Eventf(&corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: o.Namespace, Name: kubestore.DefaultSecretName},
				corev1.EventTypeWarning, w.Reason(), "%s (serial %s, not after %s)",
				w.Message, w.Serial, w.NotAfter.UTC().Format(time.RFC3339))
		},
		shutdown: shutdown,
	}, nil
}
