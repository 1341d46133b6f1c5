package oidc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Limits of the server: the discovery document and the key set are small
// GET responses, so a client has little time to send its request and read
// the answer, and a few kilobytes of headers (net/http's defaults are no
// timeouts but ReadHeaderTimeout, and 1 MiB of headers).
const (
	readHeaderTimeout  = 10 * time.Second
	readTimeout        = 10 * time.Second
	writeTimeout       = 30 * time.Second
	defaultIdleTimeout = 90 * time.Second
	maxHeaderBytes     = 16 << 10
	shutdownTimeout    = 5 * time.Second
)

// Options configures New.
type Options struct {
	HandlerOptions
	// Listener is where to serve; if nil, Address is listened on.
	Listener net.Listener
	// Address is host:port, for example "localhost:9080".
	Address string
	// TLSCertFile and TLSKeyFile are the serving certificate (chain) and
	// key, PEM, re-read when either file changes. Both or neither: neither
	// serves plain HTTP (behind a TLS-terminating proxy).
	TLSCertFile, TLSKeyFile string
	// IdleTimeout closes a keep-alive connection idle for this long.
	// Default 90s.
	IdleTimeout time.Duration
}

// Server serves the discovery endpoints.
type Server struct {
	opts    Options
	handler http.Handler
	certs   *certFiles
	ready   atomic.Bool
	addr    atomic.Pointer[net.Addr]
}

// New checks opts, loads the TLS certificate if any, and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Listener == nil && opts.Address == "" {
		return nil, errors.New("oidc: Listener or Address is required")
	}
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, errors.New("oidc: a TLS certificate file needs a key file and the other way round")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = defaultIdleTimeout
	}
	opts.HandlerOptions.TLS = opts.TLSCertFile != ""
	h, err := NewHandler(opts.HandlerOptions)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, handler: h}
	if opts.TLSCertFile != "" {
		s.certs = &certFiles{cert: opts.TLSCertFile, key: opts.TLSKeyFile}
		if _, err := s.certs.get(nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Start serves until ctx is done, then shuts down. It returns nil after a
// graceful stop.
func (s *Server) Start(ctx context.Context) error {
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Address); err != nil {
			return fmt.Errorf("oidc: listen on %s: %w", s.opts.Address, err)
		}
	}
	addr := ln.Addr()
	s.addr.Store(&addr)
	errLog, err := zap.NewStdLogAt(s.opts.Logger, zap.DebugLevel)
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	srv := &http.Server{
		Handler: s.handler, ErrorLog: errLog, MaxHeaderBytes: maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: s.opts.IdleTimeout,
	}
	scheme := "http"
	serve := func() error { return srv.Serve(ln) }
	if s.certs != nil {
		scheme = "https"
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.get}
		serve = func() error { return srv.ServeTLS(ln, "", "") }
	}
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	s.ready.Store(true)
	s.opts.Logger.Info("Starting OIDC HTTP server", zap.String("address", addr.String()), zap.String("scheme", scheme))
	select {
	case err := <-errc:
		s.ready.Store(false)
		return fmt.Errorf("oidc: serve: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("oidc: serve: %w", err)
	}
	return nil
}

// Ready reports nil once the server accepts connections.
func (s *Server) Ready() error {
	if !s.ready.Load() {
		return errors.New("OIDC server not serving")
	}
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() net.Addr {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// certFiles is a certificate pair re-read when either file changes.
type certFiles struct {
	cert, key string
	mu        sync.Mutex
	stamp     string
	current   *tls.Certificate
}

// get returns the pair, reloading it when a file's size or time changed. A
// pair that fails to load keeps the previous one serving.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp, err := stampOf(c.cert, c.key)
	if err == nil && stamp == c.stamp && c.current != nil {
		return c.current, nil
	}
	pair, lerr := tls.LoadX509KeyPair(c.cert, c.key)
	if lerr != nil {
		if c.current != nil {
			return c.current, nil
		}
		return nil, fmt.Errorf("oidc: load TLS certificate %s and key %s: %w", c.cert, c.key, lerr)
	}
	c.current, c.stamp = &pair, stamp
	return c.current, nil
}

func stampOf(paths ...string) (string, error) {
	var stamp string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}
