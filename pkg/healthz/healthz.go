package healthz

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Check reports whether a component is ready: nil means ready.
type Check func() error

// Handler holds readiness checks and serves /healthz and /readyz.
type Handler struct {
	mu     sync.RWMutex
	checks map[string]Check
}

// New returns a Handler with no checks.
func New() *Handler { return &Handler{checks: map[string]Check{}} }

// AddReadyCheck registers a readiness check under name.
func (h *Handler) AddReadyCheck(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
}

// Ready runs every check and returns the failures joined, or nil.
func (h *Handler) Ready() error {
	h.mu.RLock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	checks := make([]Check, len(names))
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	h.mu.RUnlock()
	var errs []error
	for i, c := range checks {
		if err := c(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", names[i], err))
		}
	}
	return errors.Join(errs...)
}

// ServeHTTP answers /livez, /healthz and /readyz.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/livez":
		_, _ = w.Write([]byte("ok\n"))
	case "/healthz", "/readyz":
		if err := h.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready:\n%s\n", err)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	default:
		http.NotFound(w, r)
	}
}

// Serve serves h on addr until ctx is done.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h)
}

// ServerLimits bound what one client can make an HTTP server hold: how
// long it may take to send a request, to read the response, and to keep
// an idle keep-alive connection, and how large its headers may be.
type ServerLimits struct {
	// ReadHeaderTimeout bounds reading the request headers (and a TLS
	// handshake).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the headers to the end
	// of the response; 0 is none (for streaming profiles).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle for this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request headers (net/http allows 4 KiB
	// more).
	MaxHeaderBytes int
}

// DefaultServerLimits suit endpoints that take no request body and answer
// a few kilobytes, such as probes and metrics: net/http's defaults let a
// keep-alive connection live forever and headers reach 1 MiB. IdleTimeout
// outlasts Prometheus' default one-minute scrape interval, so scrapes
// reuse their connection.
func DefaultServerLimits() ServerLimits {
	return ServerLimits{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
}

// NewServer returns a server of h with the limits l.
func NewServer(h http.Handler, l ServerLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// ServeListener serves h on ln with DefaultServerLimits until ctx is done,
// then shuts down within 5s.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	return ServeServer(ctx, ln, NewServer(h, DefaultServerLimits()))
}

// ServeServer serves srv on ln until ctx is done, then shuts down within 5s.
func ServeServer(ctx context.Context, ln net.Listener, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down http on %s: %w", ln.Addr(), err)
	}
	<-errc
	return nil
}
