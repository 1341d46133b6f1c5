package anchors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/log"
	store "github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
)

// Names and keys of the per-namespace anchors ConfigMap.
const (
	// ConfigMapName is the name of the anchors ConfigMap in each namespace.
	ConfigMapName = "dapr-trust-bundle"
	// RootsKey is the ConfigMap key holding the PEM roots.
	RootsKey = "ca.crt"
	// LabelManagedBy marks a ConfigMap Sentry made and may rewrite.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is LabelManagedBy's value on Sentry's ConfigMaps.
	ManagedBy = "dapr-sentry"
	// AnnotationEnabled is the pod annotation that opts a pod into Dapr.
	AnnotationEnabled = "dapr.io/enabled"
)

// OptedIn reports whether a pod with these annotations runs Dapr.
func OptedIn(podAnnotations map[string]string) bool {
	return annotations.ParseBool(podAnnotations[AnnotationEnabled])
}

// RootsSHA256 is the hex SHA-256 of roots, the value of
// store.AnnotationRootsSHA256.
func RootsSHA256(roots []byte) string {
	sum := sha256.Sum256(roots)
	return hex.EncodeToString(sum[:])
}

// Options configures New.
type Options struct {
	// Client reads pods and writes ConfigMaps. Required.
	Client kubernetes.Interface
	// SentryNamespace is skipped: the trust bundle store owns its
	// ConfigMap. Required.
	SentryNamespace string
	// Logger receives the distributor's logs. Default: none.
	Logger *zap.Logger
}

// Distributor keeps the anchors ConfigMap of every Dapr namespace equal to
// the roots given to SetRoots.
type Distributor struct {
	opts  Options
	log   *zap.Logger
	queue workqueue.TypedRateLimitingInterface[string]

	mu      sync.Mutex
	roots   []byte
	pods    cache.Indexer
	cms     cache.Indexer
	refused map[string]bool // namespaces whose Forbidden was logged
}

// New returns a Distributor. It makes no API call.
func New(opts Options) (*Distributor, error) {
	if opts.Client == nil || opts.SentryNamespace == "" {
		return nil, errors.New("anchors: Client and SentryNamespace are required")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Distributor{
		opts: opts,
		log:  opts.Logger,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "trust-anchors"}),
	}, nil
}

// SetRoots sets the PEM roots to publish; a change is written to every
// served namespace.
func (d *Distributor) SetRoots(roots []byte) {
	d.mu.Lock()
	if bytes.Equal(d.roots, roots) {
		d.mu.Unlock()
		return
	}
	d.roots = bytes.Clone(roots)
	d.mu.Unlock()
	d.enqueueAll()
}

func (d *Distributor) current() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.roots
}

// enqueueAll queues every namespace with a pod (a no-op before Start).
func (d *Distributor) enqueueAll() {
	d.mu.Lock()
	pods := d.pods
	d.mu.Unlock()
	if pods == nil {
		return
	}
	for _, ns := range pods.ListIndexFuncValues(cache.NamespaceIndex) {
		d.queue.Add(ns)
	}
}

// Start watches pods and anchors ConfigMaps and reconciles until ctx is
// done. It returns nil when ctx is done, or an error when the caches cannot
// be filled.
func (d *Distributor) Start(ctx context.Context) error {
	defer d.queue.ShutDown()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	core := d.opts.Client.CoreV1()
	podInf := cache.NewSharedIndexInformer(&cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			return core.Pods(metav1.NamespaceAll).List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			return core.Pods(metav1.NamespaceAll).Watch(ctx, o)
		},
	}, &corev1.Pod{}, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := podInf.SetTransform(stripPod); err != nil {
		return fmt.Errorf("anchors: %w", err)
	}
	byName := fields.OneTermEqualSelector("metadata.name", ConfigMapName).String()
	cmInf := cache.NewSharedIndexInformer(&cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = byName
			return core.ConfigMaps(metav1.NamespaceAll).List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = byName
			return core.ConfigMaps(metav1.NamespaceAll).Watch(ctx, o)
		},
	}, &corev1.ConfigMap{}, 0, cache.Indexers{})
	enqueue := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if m, ok := obj.(metav1.Object); ok {
			d.queue.Add(m.GetNamespace())
		}
	}
	podHandler := cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok && OptedIn(p.Annotations) {
				enqueue(obj)
			}
		},
		UpdateFunc: func(_, obj any) {
			if p, ok := obj.(*corev1.Pod); ok && OptedIn(p.Annotations) {
				enqueue(obj)
			}
		},
	}
	cmHandler := cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}
	if _, err := podInf.AddEventHandler(podHandler); err != nil {
		return fmt.Errorf("anchors: %w", err)
	}
	if _, err := cmInf.AddEventHandler(cmHandler); err != nil {
		return fmt.Errorf("anchors: %w", err)
	}
	if err := d.watchErrors(podInf, "pods"); err != nil {
		return fmt.Errorf("anchors: %w", err)
	}
	if err := d.watchErrors(cmInf, "configmaps named "+ConfigMapName); err != nil {
		return fmt.Errorf("anchors: %w", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); podInf.Run(ctx.Done()) }()
	go func() { defer wg.Done(); cmInf.Run(ctx.Done()) }()
	if !cache.WaitForCacheSync(ctx.Done(), podInf.HasSynced, cmInf.HasSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("anchors: the pod and ConfigMap caches did not sync")
	}
	d.mu.Lock()
	d.pods, d.cms = podInf.GetIndexer(), cmInf.GetIndexer()
	d.mu.Unlock()
	d.log.Info("Publishing trust anchors to the namespaces of Dapr pods", zap.String(log.KeyNamespace, d.opts.SentryNamespace))
	d.enqueueAll()
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		d.queue.ShutDown()
	}()
	for d.processNext(ctx) {
	}
	return nil
}

func (d *Distributor) processNext(ctx context.Context) bool {
	ns, quit := d.queue.Get()
	if quit {
		return false
	}
	defer d.queue.Done(ns)
	if err := d.reconcile(ctx, ns); err != nil {
		switch {
		case ctx.Err() != nil:
		case apierrors.IsForbidden(err) && !d.firstRefusal(ns):
			d.log.Debug("Still not allowed to publish the trust anchors; retrying", zap.String(log.KeyNamespace, ns), zap.Error(err))
		case apierrors.IsForbidden(err):
			d.log.Warn("Not allowed to publish the trust anchors; retrying, and logging this namespace's refusals at debug level from now on",
				zap.String(log.KeyNamespace, ns), zap.String("needs", "create, update of configmaps named "+ConfigMapName+" (the ClusterRole of the package documentation)"),
				zap.Error(err))
		default:
			d.log.Warn("Could not publish the trust anchors; retrying", zap.String(log.KeyNamespace, ns), zap.Error(err))
		}
		d.queue.AddRateLimited(ns)
		return true
	}
	d.queue.Forget(ns)
	return true
}

// firstRefusal reports whether ns is refused by RBAC for the first time.
func (d *Distributor) firstRefusal(ns string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refused[ns] {
		return false
	}
	if d.refused == nil {
		d.refused = map[string]bool{}
	}
	d.refused[ns] = true
	return true
}

// watchErrors logs the failed lists and watches of inf (of what): the
// first of a run of failures as a warning, the rest at debug level until
// the informer delivers an object again. A Forbidden one names the rule
// (see the package documentation); the informer retries with backoff.
func (d *Distributor) watchErrors(inf cache.SharedIndexInformer, what string) error {
	var failing atomic.Bool
	err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		switch {
		case errors.Is(err, io.EOF), apierrors.IsResourceExpired(err), apierrors.IsGone(err):
			d.log.Debug("Watch closed; re-listing", zap.String("resource", what), zap.Error(err))
		case failing.Swap(true):
			d.log.Debug("Cannot list or watch, again; retrying", zap.String("resource", what), zap.Error(err))
		case apierrors.IsForbidden(err):
			d.log.Warn("Cannot list or watch; no trust anchors are published until it can",
				zap.String("resource", what), zap.String("needs", "list, watch of "+what+" in all namespaces"), zap.Error(err))
		default:
			d.log.Warn("Cannot list or watch; retrying", zap.String("resource", what), zap.Error(err))
		}
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

// stripPod keeps only what the distributor reads.
func stripPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: p.Name, Namespace: p.Namespace, Annotations: map[string]string{AnnotationEnabled: p.Annotations[AnnotationEnabled]},
		ResourceVersion: p.ResourceVersion,
	}}, nil
}

// served reports whether namespace ns holds a Dapr pod.
func (d *Distributor) served(ns string) bool {
	objs, err := d.pods.ByIndex(cache.NamespaceIndex, ns)
	if err != nil {
		return false
	}
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok && OptedIn(p.Annotations) {
			return true
		}
	}
	return false
}

// reconcile makes the anchors ConfigMap of ns hold the current roots.
func (d *Distributor) reconcile(ctx context.Context, ns string) error {
	roots := d.current()
	if ns == d.opts.SentryNamespace || len(roots) == 0 || !d.served(ns) {
		return nil
	}
	sum := RootsSHA256(roots)
	cms := d.opts.Client.CoreV1().ConfigMaps(ns)
	obj, exists, err := d.cms.GetByKey(ns + "/" + ConfigMapName)
	if err != nil {
		return fmt.Errorf("read cached ConfigMap: %w", err)
	}
	if !exists {
		_, err := cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: ConfigMapName, Namespace: ns,
				Labels:      map[string]string{LabelManagedBy: ManagedBy},
				Annotations: map[string]string{store.AnnotationRootsSHA256: sum},
			},
			Data: map[string]string{RootsKey: string(roots)},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create ConfigMap %s: %w", ConfigMapName, err)
		}
		if err == nil {
			d.log.Info("Published the trust anchors", zap.String(log.KeyNamespace, ns))
			return nil
		}
		return fmt.Errorf("create ConfigMap %s: %w", ConfigMapName, err) // the cache lags; retry
	}
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return fmt.Errorf("unexpected cached object %T", obj)
	}
	if cm.Labels[LabelManagedBy] != ManagedBy {
		d.log.Warn("A ConfigMap named like the trust anchors exists but was not made by Sentry; leaving it alone",
			zap.String(log.KeyNamespace, ns), zap.String("configmap", ConfigMapName))
		return nil
	}
	if cm.Data[RootsKey] == string(roots) && cm.Annotations[store.AnnotationRootsSHA256] == sum {
		return nil
	}
	nc := cm.DeepCopy()
	if nc.Data == nil {
		nc.Data = map[string]string{}
	}
	if nc.Annotations == nil {
		nc.Annotations = map[string]string{}
	}
	nc.Data[RootsKey] = string(roots)
	nc.Annotations[store.AnnotationRootsSHA256] = sum
	if _, err := cms.Update(ctx, nc, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update ConfigMap %s: %w", ConfigMapName, err)
	}
	d.log.Info("Updated the trust anchors", zap.String(log.KeyNamespace, ns))
	return nil
}
