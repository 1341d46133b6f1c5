package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
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
	opts      Options
	client    k8s.Interface
	audiences []string
	logger    *zap.Logger
	metrics   *metrics
	reviews   *reviewCache

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
		opts:      opts,
		client:    client,
		audiences: []string{opts.SentryID.String(), LegacyAudience},
		logger:    opts.Logger,
		metrics:   m,
		reviews:   newReviewCache(opts.ReviewCacheSize),
	}
	v.pods = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(stripPod))
	v.podInformer = v.pods.Core().V1().Pods().Informer()
	v.configs = dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	v.cfgInformer = v.configs.ForResource(ConfigurationResource).Informer()
	if err := v.cfgInformer.SetTransform(stripConfiguration); err != nil {
		return nil, fmt.Errorf("set configuration transform: %w", err)
	}
	if err := v.podInformer.SetWatchErrorHandler(v.watchError("pods")); err != nil {
		return nil, fmt.Errorf("set pod watch error handler: %w", err)
	}
	if err := v.cfgInformer.SetWatchErrorHandler(v.watchError(ConfigurationResource.GroupResource().String())); err != nil {
		return nil, fmt.Errorf("set configuration watch error handler: %w", err)
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

// watchError logs a failed list or watch of resource (for example a
// missing CRD or RBAC rule); the informer retries with backoff.
func (v *Validator) watchError(resource string) cache.WatchErrorHandler {
	return func(_ *cache.Reflector, err error) {
		if errors.Is(err, io.EOF) {
			return // the watch was closed; it is re-established
		}
		v.logger.Warn("Cannot list or watch; retrying", zap.String("resource", resource), zap.Error(err))
	}
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
