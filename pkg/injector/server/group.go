package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/trustplane/trustplane/pkg/healthz"
)

// group runs the injector's parts: the first to fail (or to return while
// the others run) stops them all, and wait returns its error.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	once     sync.Once
	err      error
	cleanups []func()
}

func newGroup(parent context.Context) *group {
	ctx, cancel := context.WithCancel(parent)
	return &group{ctx: ctx, cancel: cancel}
}

// run starts fn; its return ends the group, with its error if any.
func (g *group) run(name string, fn func(context.Context) error) {
	g.wg.Go(func() {
		err := fn(g.ctx)
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		g.once.Do(func() { g.err = err })
		g.cancel()
	})
}

// done is closed when the group is stopping.
func (g *group) done() <-chan struct{} { return g.ctx.Done() }

// cleanup registers fn to run after every part returned.
func (g *group) cleanup(fn func()) { g.cleanups = append(g.cleanups, fn) }

// wait blocks until the group stops and every part returned, and returns
// the first part's error.
func (g *group) wait() error {
	<-g.ctx.Done()
	g.wg.Wait()
	return g.err
}

// stop cancels every part, waits for them and runs the cleanups.
func (g *group) stop() {
	g.cancel()
	g.wg.Wait()
	for _, fn := range g.cleanups {
		fn()
	}
}

// metricsServer serves reg and controller-runtime's registry (webhook
// latency and in-flight requests, client-go metrics) at / and /metrics.
func metricsServer(addr string, reg *prometheus.Registry) manager.Runnable {
	gather := prometheus.Gatherers{reg, ctrlmetrics.Registry}
	h := promhttp.HandlerFor(gather, promhttp.HandlerOpts{Registry: reg})
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.Handle("/", h)
	return manager.RunnableFunc(func(ctx context.Context) error { return healthz.Serve(ctx, addr, mux) })
}
