package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// DefaultName is the Configuration Sentry reads when Options.Name is empty,
// as in Dapr.
const DefaultName = "daprsystem"

// ReasonInvalidConfiguration is the reason of the Warning Event recorded on
// the Configuration when its spec.mtls is rejected.
const ReasonInvalidConfiguration = "InvalidConfiguration"

// ErrAlreadyStarted is returned by a second call to Start.
var ErrAlreadyStarted = errors.New("configuration source already started")

// Options configures New.
type Options struct {
	// Client reads and watches the Configuration. Default: a dynamic client
	// made from Config.
	Client dynamic.Interface
	// Config is the API server connection, used when Client is nil. One of
	// Client and Config is required.
	Config *rest.Config
	// Namespace is the Configuration's namespace (Sentry's). Required.
	Namespace string
	// Name is the Configuration's name. Default DefaultName.
	Name string
	// Logger receives load, reload and rejection messages. Default: none.
	Logger *zap.Logger
	// Recorder, when set, records a Warning Event on the Configuration
	// for each rejected version of it. Default: no Events.
	Recorder record.EventRecorder
}

// Source is a configuration source backed by one Configuration object. It
// satisfies Sentry's ConfigSource.
type Source struct {
	opts     Options
	resource dynamic.ResourceInterface
	logger   *zap.Logger
	current  atomic.Pointer[config.Config]
	started  atomic.Bool

	// mu serialises apply between Load and the informer's handler.
	mu sync.Mutex
	// lastRV is the resourceVersion last applied or rejected, so a relist
	// does not log or record the same version twice. Guarded by mu.
	lastRV string
}

// New checks opts and returns a Source whose Current is config.Default()
// until Load or Start reads the object. It does not contact the API server.
func New(opts Options) (*Source, error) {
	if opts.Namespace == "" {
		return nil, errors.New("kubernetes config: Namespace is required")
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Client == nil {
		if opts.Config == nil {
			return nil, errors.New("kubernetes config: Client or Config is required")
		}
		c, err := dynamic.NewForConfig(opts.Config)
		if err != nil {
			return nil, fmt.Errorf("kubernetes config: create client: %w", err)
		}
		opts.Client = c
	}
	s := &Source{
		opts:     opts,
		resource: opts.Client.Resource(v1alpha1.GroupVersionResource).Namespace(opts.Namespace),
		logger: opts.Logger.With(
			zap.String(log.KeyNamespace, opts.Namespace),
			zap.String("configuration", opts.Name)),
	}
	def := config.Default()
	s.current.Store(&def)
	return s, nil
}

// Current returns the configuration in force. It never blocks (an atomic
// load), so it can be called on every request.
func (s *Source) Current() config.Config { return *s.current.Load() }

// Load reads the Configuration once and makes it Current. A missing object
// is not an error: Current stays config.Default() and a warning is logged.
// An invalid object returns an error wrapping config.ErrInvalid (and
// records a Warning Event); any other failure, such as missing RBAC
// rights, returns the API error. Call it before Start.
func (s *Source) Load(ctx context.Context) error {
	u, err := s.resource.Get(ctx, s.opts.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.logger.Warn("Configuration not found; using the default configuration until it is created",
			zap.Duration("workload_cert_ttl", config.DefaultWorkloadCertTTL),
			zap.Duration("allowed_clock_skew", config.DefaultAllowedClockSkew),
			zap.Error(err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubernetes config: get configuration %s/%s: %w", s.opts.Namespace, s.opts.Name, err)
	}
	if _, err := s.apply(u, true); err != nil {
		return fmt.Errorf("kubernetes config: %s/%s: %w", s.opts.Namespace, s.opts.Name, err)
	}
	return nil
}

// Start watches the Configuration until ctx is done, then returns nil.
// The first list brings the object as it is now (applied if Load did not
// see it); after that each accepted change replaces Current, is logged and
// is handed to onChange (if not nil) on the watch goroutine, one at a time.
// Rejected changes keep the last good configuration. Start may be called
// once; list and watch failures are logged and retried with back-off.
func (s *Source) Start(ctx context.Context, onChange func(config.Config)) error {
	if !s.started.CompareAndSwap(false, true) {
		return fmt.Errorf("kubernetes config: %w", ErrAlreadyStarted)
	}
	selector := fields.OneTermEqualSelector("metadata.name", s.opts.Name).String()
	informer := dynamicinformer.NewFilteredDynamicInformer(
		s.opts.Client, v1alpha1.GroupVersionResource, s.opts.Namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.FieldSelector = selector },
	).Informer()
	// The first failure of a run is a warning, the rest (the informer
	// retries with backoff) debug lines until an object arrives again.
	var failing atomic.Bool
	if err := informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		switch {
		case errors.Is(err, io.EOF):
			return // the watch was closed; it is re-established
		case failing.Swap(true):
			s.logger.Debug("Watching the Configuration failed again; retrying", zap.Error(err))
		case apierrors.IsForbidden(err):
			s.logger.Warn("Watching the Configuration failed; retrying", zap.Error(err),
				zap.String("needs", "list, watch on configurations.dapr.io named "+s.opts.Name+" in namespace "+s.opts.Namespace))
		default:
			s.logger.Warn("Watching the Configuration failed; retrying", zap.Error(err))
		}
	}); err != nil {
		return fmt.Errorf("kubernetes config: watch configuration: %w", err)
	}
	changed := func(obj any) {
		failing.Store(false)
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		cfg, err := s.apply(u, false)
		if err == nil && cfg != nil && onChange != nil {
			onChange(*cfg)
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(any) { failing.Store(false); s.deleted() },
	}); err != nil {
		return fmt.Errorf("kubernetes config: watch configuration: %w", err)
	}
	s.logger.Debug("Watching the Configuration")
	informer.Run(ctx.Done())
	return nil
}

// deleted forgets the last version seen, so that a recreated object with
// the same content is still read, and keeps the configuration in force.
func (s *Source) deleted() {
	s.mu.Lock()
	s.lastRV = ""
	s.mu.Unlock()
	s.logger.Warn("Configuration deleted; keeping the configuration in force until it is created again")
}
