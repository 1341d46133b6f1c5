package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	tplog "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// Watch follows the Secret and the ConfigMap until ctx is done, then
// returns nil. Each is followed by an informer that lists and watches only
// that object by a metadata.name field selector (and re-lists when a watch
// expires or breaks), or, with Options.PollSecret or PollConfigMap, read
// with a GET at that interval. A failing list, watch or read is logged once
// until it works again, a Forbidden one as an error.
//
// On a Secret change (a resourceVersion not seen yet) Watch Loads the
// Secret: a valid bundle that differs from the last one loaded or saved goes
// to onChange, and its roots to the ConfigMap; anything else (an invalid or
// partial Secret, one emptied or deleted) goes to onError, also as a Warning
// Event, and the caller keeps its bundle. Nothing is written then. On a
// ConfigMap change, and once when both informers have synced, Watch reads
// the Secret again and publishes its roots where that replaces nothing a
// user wrote, or reports the disagreement. Callbacks are called one at a
// time. Validity periods are the caller's to check.
func (s *Store) Watch(ctx context.Context, onChange func(*bundle.Bundle), onError func(error)) error {
	w := &watcher{s: s, ctx: ctx, onChange: onChange, onError: onError}
	secretFollower := s.follow(ctx, &corev1.Secret{}, s.secretName, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.secretChanged(obj) },
		UpdateFunc: func(_, obj any) { w.secretChanged(obj) },
		DeleteFunc: func(any) { w.secretDeleted() },
	})
	cmFollower := s.follow(ctx, &corev1.ConfigMap{}, s.cmName, cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.configMapChanged(obj) },
		UpdateFunc: func(_, obj any) { w.configMapChanged(obj) },
		DeleteFunc: func(any) { w.configMapChanged(nil) },
	})
	var wg sync.WaitGroup
	for _, c := range []follower{secretFollower, cmFollower} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Run(ctx.Done())
		}()
	}
	defer wg.Wait()
	s.log.Debug("Watching the trust bundle Secret and ConfigMap", zap.String(logKeyConfigMap, s.cmName),
		zap.Duration("poll_secret", s.pollSecret), zap.Duration("poll_configmap", s.pollCM))
	if !cache.WaitForCacheSync(ctx.Done(), secretFollower.HasSynced, cmFollower.HasSynced) {
		return nil
	}
	// The ConfigMap may be absent, which no informer event reports.
	w.configMapChanged(nil)
	if s.watching != nil {
		s.watching()
	}
	<-ctx.Done()
	return nil
}

// follow builds the follower of the one object name of obj's kind: a
// poller when its poll interval is set, else an informer.
func (s *Store) follow(ctx context.Context, obj runtime.Object, name string, h cache.ResourceEventHandler) follower {
	_, isSecret := obj.(*corev1.Secret)
	kind, interval := "ConfigMap", s.pollCM
	if isSecret {
		kind, interval = "Secret", s.pollSecret
	}
	if interval > 0 {
		get := func(ctx context.Context) (runtime.Object, error) {
			var (
				o   runtime.Object
				err error
			)
			if isSecret {
				o, err = s.client.CoreV1().Secrets(s.ns).Get(ctx, name, metav1.GetOptions{})
			} else {
				o, err = s.client.CoreV1().ConfigMaps(s.ns).Get(ctx, name, metav1.GetOptions{})
			}
			if err != nil {
				return nil, err // not the typed nil pointer of a failed Get
			}
			return o, nil
		}
		return &poller{ctx: ctx, kind: kind, interval: interval, get: get, handler: h, log: s.log}
	}
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			if isSecret {
				return s.client.CoreV1().Secrets(s.ns).List(ctx, o)
			}
			return s.client.CoreV1().ConfigMaps(s.ns).List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			if isSecret {
				return s.client.CoreV1().Secrets(s.ns).Watch(ctx, o)
			}
			return s.client.CoreV1().ConfigMaps(s.ns).Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, obj, 0, cache.Indexers{})
	var failing atomic.Bool // a failure was logged; cleared by the next event
	// Set before Run, so it cannot fail.
	_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		switch {
		case errors.Is(err, io.EOF), apierrors.IsResourceExpired(err), apierrors.IsGone(err):
			s.log.Debug("Trust bundle watch closed; re-listing", zap.String("kind", kind), zap.Error(err))
		case failing.Swap(true):
			s.log.Debug("Trust bundle watch failed again; retrying", zap.String("kind", kind), zap.Error(err))
		case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
			s.log.Error("Cannot list or watch the trust bundle objects; check Sentry's Role", zap.String("kind", kind), zap.Error(err))
		default:
			s.log.Warn("Trust bundle watch failed; retrying", zap.String("kind", kind), zap.Error(err))
		}
	})
	// Adding handlers before Run cannot fail.
	_, _ = inf.AddEventHandler(h)
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { failing.Store(false) },
		UpdateFunc: func(any, any) { failing.Store(false) },
		DeleteFunc: func(any) { failing.Store(false) },
	})
	return inf
}

// watcher handles the informers' events, one at a time.
type watcher struct {
	s        *Store
	ctx      context.Context
	onChange func(*bundle.Bundle)
	onError  func(error)
	mu       sync.Mutex
}

func (w *watcher) secretChanged(obj any) {
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.s
	if sec.ResourceVersion == s.secretRV() {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, s.timeout)
	defer cancel()
	prev := s.last.Load()
	b, err := s.load(ctx)
	if err != nil {
		if w.ctx.Err() != nil {
			return
		}
		s.log.Warn("The trust bundle Secret changed but does not hold a valid bundle; keeping the current one",
			zap.String(tplog.KeyReason, err.Error()))
		w.onError(err)
		return
	}
	if b.Equal(prev) {
		s.log.Debug("The trust bundle Secret changed without a change of bundle")
		return
	}
	s.log.Info("The trust bundle Secret changed; reloaded", zap.Time(tplog.KeyNotAfter, b.Issuer().NotAfter))
	w.onChange(b)
}

func (w *watcher) secretDeleted() {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.s
	s.setSecretRV("")
	err := fmt.Errorf("%w: Secret %s in namespace %s was deleted; Sentry keeps the bundle it holds, but will generate a new CA at its next start unless the Secret is restored",
		ErrNotFound, s.secretName, s.ns)
	s.log.Error("The trust bundle Secret was deleted", zap.String(tplog.KeyReason, err.Error()))
	w.onError(err)
}

// configMapChanged publishes the Secret's roots to the ConfigMap. obj is
// the ConfigMap seen, or nil to check regardless.
func (w *watcher) configMapChanged(obj any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.s
	if cm, ok := obj.(*corev1.ConfigMap); ok && cm.ResourceVersion == s.cmRV() {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, s.timeout)
	defer cancel()
	sec, err := s.client.CoreV1().Secrets(s.ns).Get(ctx, s.secretName, metav1.GetOptions{})
	if err != nil {
		s.log.Debug("Not publishing trust anchors: cannot read the Secret", zap.Error(err))
		return
	}
	b, err := s.parse(sec)
	if err != nil {
		s.log.Debug("Not publishing trust anchors: the Secret holds no valid bundle", zap.Error(err))
		return
	}
	s.publishAll(ctx, sec, b)
}
