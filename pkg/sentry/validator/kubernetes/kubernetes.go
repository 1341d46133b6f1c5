package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// Validator authenticates callers by their pod-bound service-account
// tokens. It is safe for concurrent use; it is ready once Start has synced
// its pod and Configuration caches.
type Validator struct {
	opts       Options
	client     k8s.Interface
	audiences  []string
	logger     *zap.Logger
	metrics    *metrics
	reviews    *reviewCache[identity]
	rejections *reviewCache[error]
	flights    *flights

	pods        informers.SharedInformerFactory
	configs     dynamicinformer.DynamicSharedInformerFactory
	podInformer cache.SharedIndexInformer
	cfgInformer cache.SharedIndexInformer

	started atomic.Bool
	ready   atomic.Bool
}

var _ validator.Validator = (*Validator)(nil)

// New checks opts and returns a Validator. It makes no apiserver call;
// Start does.
func New(opts Options) (*Validator, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	client, dyn, err := opts.clients()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	v := &Validator{
		opts:       opts,
		client:     client,
		audiences:  []string{opts.SentryID.String(), LegacyAudience},
		logger:     opts.Logger,
		metrics:    m,
		reviews:    newReviewCache[identity](opts.ReviewCacheSize),
		rejections: newReviewCache[error](opts.ReviewCacheSize),
		flights:    newFlights(opts.MaxConcurrentReviews),
	}
	v.pods = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(stripPod))
	v.podInformer = v.pods.Core().V1().Pods().Informer()
	v.configs = dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	v.cfgInformer = v.configs.ForResource(ConfigurationResource).Informer()
	if err := v.cfgInformer.SetTransform(stripConfiguration); err != nil {
		return nil, fmt.Errorf("set configuration transform: %w", err)
	}
	if err := v.watchErrors(v.podInformer, "pods"); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	if err := v.watchErrors(v.cfgInformer, ConfigurationResource.GroupResource().String()); err != nil {
		return nil, fmt.Errorf("configuration informer: %w", err)
	}
	return v, nil
}

// Start runs the pod and Configuration informers until ctx is done, then
// stops them and returns nil. Validate answers ErrNotReady until both have
// synced. Start may be called once.
func (v *Validator) Start(ctx context.Context) error {
	if !v.started.CompareAndSwap(false, true) {
		return errors.New("kubernetes validator already started")
	}
	v.pods.Start(ctx.Done())
	v.configs.Start(ctx.Done())
	defer v.configs.Shutdown()
	defer v.pods.Shutdown()
	v.logger.Info("Waiting for the pod and Configuration caches")
	if cache.WaitForCacheSync(ctx.Done(), v.podInformer.HasSynced, v.cfgInformer.HasSynced) {
		v.ready.Store(true)
		v.logger.Info("Kubernetes validator ready")
	}
	<-ctx.Done()
	v.ready.Store(false)
	return nil
}

// watchErrors logs the failed lists and watches of inf, of resource (for
// example a missing CRD or RBAC rule; the informer retries with backoff):
// the first of a run of failures as a warning, naming the rule or the CRD
// that is missing, and the rest at debug level until the informer delivers
// an object again, so that a missing rule makes one line, not one per retry.
func (v *Validator) watchErrors(inf cache.SharedIndexInformer, resource string) error {
	var failing atomic.Bool
	err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		if errors.Is(err, io.EOF) {
			return // the watch was closed; it is re-established
		}
		fields := []zap.Field{zap.String("resource", resource), zap.Error(err)}
		switch {
		case apierrors.IsForbidden(err):
			fields = append(fields, zap.String("needs", "list and watch of "+resource+" in all namespaces (see the package documentation's ClusterRole)"))
		case apierrors.IsNotFound(err):
			fields = append(fields, zap.String("needs", "the "+resource+" CustomResourceDefinition"))
		}
		if failing.Swap(true) {
			v.logger.Debug("Cannot list or watch, again; retrying", fields...)
			return
		}
		v.logger.Warn("Cannot list or watch; retrying", fields...)
	})
	if err != nil {
		return err
	}
	recovered := func() { failing.Store(false) }
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { recovered() },
		UpdateFunc: func(any, any) { recovered() },
		DeleteFunc: func(any) { recovered() },
	})
	return err
}

// NeedLeaderElection reports false: every Sentry replica validates.
func (*Validator) NeedLeaderElection() bool { return false }

// Ready reports whether the pod and Configuration caches have synced. It
// never blocks.
func (v *Validator) Ready() bool { return v.ready.Load() }

// stripPod keeps of a pod only what Validate reads, so the cache of every
// pod in the cluster stays small.
func stripPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // a tombstone: already stripped
	}
	var ann map[string]string
	for _, k := range []string{AnnotationAppID, AnnotationControlPlane, AnnotationConfig} {
		if val, ok := pod.Annotations[k]; ok {
			if ann == nil {
				ann = make(map[string]string, 3)
			}
			ann[k] = val
		}
	}
	out := &corev1.Pod{}
	out.Name = pod.Name
	out.Namespace = pod.Namespace
	out.UID = pod.UID
	out.ResourceVersion = pod.ResourceVersion
	out.Annotations = ann
	out.Spec.ServiceAccountName = pod.Spec.ServiceAccountName
	return out, nil
}
