package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	acv1 "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Defaults of CABundlePatcher.
const (
	// DefaultWebhookConfigurationName is the MutatingWebhookConfiguration
	// whose caBundle the injector keeps, as in Dapr's chart.
	DefaultWebhookConfigurationName = "dapr-sidecar-injector"
	// FieldManager is the server-side apply field manager that owns the
	// caBundle fields; GitOps tools can ignore this one manager.
	FieldManager = "dapr-sidecar-injector"
)

// Retry timing of the patcher after a failed apply.
const (
	patchRetryInitial = time.Second
	patchRetryMax     = 30 * time.Second
)

// DefaultPatchOnlyResync is how often a patcher in PatchOnly mode reads the
// caBundle back (and puts it back when someone else changed it).
const DefaultPatchOnlyResync = time.Minute

// ErrWebhookConfigurationNotFound is reported by the readiness check while
// the MutatingWebhookConfiguration does not exist.
var ErrWebhookConfigurationNotFound = errors.New("mutating webhook configuration not found")

// CABundlePatcherOptions configures NewCABundlePatcher.
type CABundlePatcherOptions struct {
	// Client patches and watches the MutatingWebhookConfiguration. Required.
	Client kubernetes.Interface
	// Name is the MutatingWebhookConfiguration. Default
	// DefaultWebhookConfigurationName.
	Name string
	// Anchors are the trust anchors the caBundle must equal. Required.
	Anchors *Anchors
	// PatchOnly keeps the caBundle with the patch verb alone, as Dapr's
	// RBAC allows (patch on the one object): the object is read back by a
	// no-op merge patch on start, on every anchors change and every
	// Resync, instead of being watched (get, list, watch).
	PatchOnly bool
	// Resync is how often a PatchOnly patcher reads the object back.
	// Default DefaultPatchOnlyResync.
	Resync time.Duration
	// Clock schedules retries and resyncs. Default the real clock.
	Clock clock.WithTicker
	// Logger receives patch results. Default none.
	Logger *zap.Logger
}

// CABundlePatcher keeps clientConfig.caBundle of every webhook in one
// MutatingWebhookConfiguration equal to the current trust anchors: the API
// server then trusts the injector's serving certificate, which Sentry signs
// under those anchors. It patches on start, whenever the anchors change and
// whenever someone else changes the object (a helm upgrade, a GitOps sync),
// with a server-side apply keyed by webhook name, never by index. It needs
// get, list, watch and patch on that one object (resourceNames); in
// PatchOnly mode patch alone, and a change by someone else is then put
// back at the next resync instead of at once.
type CABundlePatcher struct {
	opts    CABundlePatcherOptions
	logger  *zap.Logger
	synced  atomic.Bool
	lastErr atomic.Pointer[error]
}

// NewCABundlePatcher checks opts and returns a patcher; Start runs it.
func NewCABundlePatcher(opts CABundlePatcherOptions) (*CABundlePatcher, error) {
	if opts.Client == nil || opts.Anchors == nil {
		return nil, errors.New("ca bundle patcher: Client and Anchors are required")
	}
	if opts.Name == "" {
		opts.Name = DefaultWebhookConfigurationName
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultPatchOnlyResync
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	p := &CABundlePatcher{opts: opts, logger: opts.Logger.With(zap.String("webhook_configuration", opts.Name))}
	err := errors.New("caBundle not patched yet")
	p.lastErr.Store(&err)
	return p, nil
}

// Ready returns nil once the caBundle matched the anchors at least once,
// else why not. It is a readiness check: Dapr gates readiness the same way.
func (p *CABundlePatcher) Ready() error {
	if p.synced.Load() {
		return nil
	}
	return *p.lastErr.Load()
}

// Start reconciles until ctx is done, then returns nil. It waits for the
// first anchors.
func (p *CABundlePatcher) Start(ctx context.Context) error {
	changed := p.opts.Anchors.Subscribe()
	select {
	case <-ctx.Done():
		return nil
	case <-p.opts.Anchors.Ready():
	}
	kick := make(chan struct{}, 1)
	trigger := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	var read func(context.Context) (*admissionregistrationv1.MutatingWebhookConfiguration, error)
	var resync <-chan time.Time
	if p.opts.PatchOnly {
		read = p.readByPatch
		ticker := p.opts.Clock.NewTicker(p.opts.Resync)
		defer ticker.Stop()
		resync = ticker.C()
	} else {
		store, stop, err := p.watch(ctx, trigger)
		if err != nil {
			return err
		}
		defer stop()
		if store == nil {
			return nil
		}
		read = func(context.Context) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
			return p.fromStore(store)
		}
	}

	retry := patchRetryInitial
	var timer clock.Timer
	var retryC <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	trigger()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-kick:
		case <-resync:
		case <-retryC:
			retryC = nil
		}
		err := p.reconcile(ctx, read)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			retry = patchRetryInitial
			continue
		}
		p.lastErr.Store(&err)
		p.logger.Warn("Cannot update the webhook caBundle; retrying", zap.Duration("retry_in", retry), zap.Error(err))
		if timer != nil {
			timer.Stop()
		}
		timer = p.opts.Clock.NewTimer(retry)
		retryC = timer.C()
		retry = min(2*retry, patchRetryMax)
	}
}

// watch starts an informer on the one object that calls trigger on every
// change, and returns its store once synced (nil when ctx ended first) and
// a function that stops it.
func (p *CABundlePatcher) watch(ctx context.Context, trigger func()) (cache.Store, func(), error) {
	factory := informers.NewSharedInformerFactoryWithOptions(p.opts.Client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", p.opts.Name).String()
		}))
	inf := factory.Admissionregistration().V1().MutatingWebhookConfigurations().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { trigger() },
		UpdateFunc: func(_, _ any) { trigger() },
		DeleteFunc: func(any) { trigger() },
	}); err != nil {
		return nil, nil, fmt.Errorf("watch webhook configuration %s: %w", p.opts.Name, err)
	}
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		p.logger.Warn("Watching the webhook configuration failed; retrying", zap.Error(err))
	}); err != nil {
		return nil, nil, fmt.Errorf("watch webhook configuration %s: %w", p.opts.Name, err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, factory.Shutdown, nil
	}
	return inf.GetStore(), factory.Shutdown, nil
}

// fromStore returns the object in the informer's store.
func (p *CABundlePatcher) fromStore(store cache.Store) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	obj, ok, err := store.GetByKey(p.opts.Name)
	if err != nil {
		return nil, fmt.Errorf("read webhook configuration %s: %w", p.opts.Name, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrWebhookConfigurationNotFound, p.opts.Name)
	}
	mwc, ok := obj.(*admissionregistrationv1.MutatingWebhookConfiguration)
	if !ok {
		return nil, fmt.Errorf("read webhook configuration %s: unexpected %T", p.opts.Name, obj)
	}
	return mwc, nil
}

// emptyMergePatch changes nothing: the API server answers it with the
// object as it is and writes nothing, so it reads the object with the
// patch verb alone.
var emptyMergePatch = []byte("{}")

// readByPatch reads the object with a no-op merge patch.
func (p *CABundlePatcher) readByPatch(ctx context.Context) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	mwc, err := p.opts.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Patch(ctx, p.opts.Name,
		types.MergePatchType, emptyMergePatch, metav1.PatchOptions{FieldManager: FieldManager})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrWebhookConfigurationNotFound, p.opts.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook configuration %s (by a no-op patch): %w", p.opts.Name, err)
	}
	return mwc, nil
}

// reconcile applies the anchors to every webhook of the object read whose
// caBundle differs, and marks the patcher ready once they all match.
func (p *CABundlePatcher) reconcile(ctx context.Context, read func(context.Context) (*admissionregistrationv1.MutatingWebhookConfiguration, error)) error {
	mwc, err := read(ctx)
	if err != nil {
		return err
	}
	anchors := p.opts.Anchors.Current()
	apply, stale := BundleApply(mwc, anchors)
	if stale == 0 {
		p.matched(len(mwc.Webhooks))
		return nil
	}
	applied, err := p.opts.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Apply(ctx, apply,
		metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("apply caBundle to webhook configuration %s: %w", p.opts.Name, err)
	}
	p.logger.Info("Patched the webhook caBundle with the trust anchors", zap.Int("webhooks", stale))
	// The applied object as stored: ready at once when every caBundle
	// matches (a watching patcher would also see it come back).
	if _, stale := BundleApply(applied, anchors); stale == 0 {
		p.matched(len(applied.Webhooks))
	}
	return nil
}

// matched marks the patcher ready, logging the first time.
func (p *CABundlePatcher) matched(webhooks int) {
	if !p.synced.Swap(true) {
		p.logger.Info("Webhook caBundle matches the trust anchors", zap.Int("webhooks", webhooks))
	}
}

// BundleApply returns the server-side apply configuration that sets the
// caBundle of every webhook in mwc to anchors, and how many of them differ
// now. Every webhook is named, not only the stale ones: an apply that left
// one out would drop the caBundle this field manager set on it before.
func BundleApply(mwc *admissionregistrationv1.MutatingWebhookConfiguration, anchors []byte) (*acv1.MutatingWebhookConfigurationApplyConfiguration, int) {
	apply := acv1.MutatingWebhookConfiguration(mwc.Name)
	stale := 0
	for _, w := range mwc.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, anchors) {
			stale++
		}
		apply.WithWebhooks(acv1.MutatingWebhook().WithName(w.Name).
			WithClientConfig(acv1.WebhookClientConfig().WithCABundle(anchors...)))
	}
	return apply, stale
}
