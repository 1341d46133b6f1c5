package kubernetes

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// follower keeps one object's handler informed: an informer (list and
// watch) or a poller (get). cache.SharedIndexInformer is one.
type follower interface {
	Run(stop <-chan struct{})
	HasSynced() bool
}

// poller reads one object with GET every interval and calls its handler as
// an informer would: add when the object appears, update when its
// resourceVersion changes, delete when it disappears. It stands in for an
// informer where RBAC grants get on the object but not list and watch, as
// Dapr's Role does for the trust bundle Secret.
type poller struct {
	ctx      context.Context
	kind     string
	interval time.Duration
	get      func(ctx context.Context) (runtime.Object, error)
	handler  cache.ResourceEventHandler
	log      *zap.Logger

	last    runtime.Object // the object last seen; nil when absent
	failing bool           // the last read failed (its error was logged)
	synced  atomic.Bool
}

var _ follower = (*poller)(nil)

// Run polls until stop is closed (or the poller's context is done).
func (p *poller) Run(stop <-chan struct{}) {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		p.poll()
		select {
		case <-stop:
			return
		case <-p.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// HasSynced reports whether one read has succeeded (found or not found).
func (p *poller) HasSynced() bool { return p.synced.Load() }

func (p *poller) poll() {
	obj, err := p.get(p.ctx)
	if err != nil && !apierrors.IsNotFound(err) {
		if p.ctx.Err() == nil {
			p.failed(err)
		}
		return
	}
	if p.failing {
		p.failing = false
		p.log.Info("Reading the trust bundle object works again", zap.String("kind", p.kind))
	}
	switch {
	case err != nil: // not found
		if p.last != nil {
			last := p.last
			p.last = nil
			p.handler.OnDelete(last)
		}
	case p.last == nil:
		p.last = obj
		p.handler.OnAdd(obj, !p.synced.Load())
	case resourceVersion(obj) != resourceVersion(p.last):
		old := p.last
		p.last = obj
		p.handler.OnUpdate(old, obj)
	}
	p.synced.Store(true)
}

// failed logs the first failure of a run of failures; the rest go to debug,
// so that an apiserver outage makes one line per object, not one per poll.
func (p *poller) failed(err error) {
	if p.failing {
		p.log.Debug("Reading the trust bundle object failed again", zap.String("kind", p.kind), zap.Error(err))
		return
	}
	p.failing = true
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		p.log.Error("Cannot get the trust bundle object; check Sentry's Role", zap.String("kind", p.kind), zap.Error(err))
		return
	}
	p.log.Warn("Reading the trust bundle object failed; retrying", zap.String("kind", p.kind),
		zap.Duration("interval", p.interval), zap.Error(err))
}

func resourceVersion(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return m.GetResourceVersion()
}
