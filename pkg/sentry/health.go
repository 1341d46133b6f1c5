package sentry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/trustplane/trustplane/pkg/healthz"
)

// healthServer serves /healthz and /readyz from the start of Start, so
// that a Sentry waiting for its trust bundle is live (and not ready) rather
// than restarted by its liveness probe.
type healthServer struct {
	done chan struct{}
	err  error
}

// serveHealth binds HealthzAddress now (a taken port fails Start at once)
// and serves until ctx is done; nil when health is off.
func (s *Sentry) serveHealth(ctx context.Context) (*healthServer, error) {
	if s.opts.HealthzAddress == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.opts.HealthzAddress)
	if err != nil {
		return nil, fmt.Errorf("sentry: healthz server: %w", err)
	}
	h := &healthServer{done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = healthz.ServeListener(ctx, ln, s.health)
	}()
	return h, nil
}

// run reports the server's failure to runAll, or nil once ctx is done.
// The server runs on Start's context, which ends a moment before runAll's:
// a server stopped without error (healthz.ServeListener returns nil only
// once its context is done) waits for ctx, so that runAll does not take
// the stop for a failure.
func (h *healthServer) run(ctx context.Context) error {
	select {
	case <-h.done:
		if h.err != nil {
			return h.err
		}
		<-ctx.Done()
		return nil
	case <-ctx.Done():
		return nil
	}
}

// wait returns once the server has stopped; nil-safe.
func (h *healthServer) wait() {
	if h != nil {
		<-h.done
	}
}

// startupCheck is the readiness check "startup": it fails until Start
// has loaded the trust bundle and registered every other check.
type startupCheck struct{ stage atomic.Int32 }

// The stages of startupCheck.
const (
	stageWaitingForBundle int32 = iota
	stageStarting
	stageStarted
)

func (c *startupCheck) check() error {
	switch c.stage.Load() {
	case stageWaitingForBundle:
		return errors.New("no trust bundle loaded yet")
	case stageStarting:
		return errors.New("starting")
	}
	return nil
}
