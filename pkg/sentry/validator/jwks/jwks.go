package jwks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// Validator verifies tokens against a key set kept current from its
// source. It is safe for concurrent use.
type Validator struct {
	opts   Options
	src    source
	ticker clock.WithTicker
	client *http.Client // URL sources only
	logger *zap.Logger

	keys    atomic.Pointer[jwk.Set]
	started atomic.Bool
}

var _ validator.Validator = (*Validator)(nil)

// New checks opts and returns a Validator. An inline source is parsed here,
// so such a Validator is ready at once; URL and file sources are loaded by
// Start.
func New(opts Options) (*Validator, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	src, err := parseSource(opts.Source)
	if err != nil {
		return nil, err
	}
	v := &Validator{opts: opts, src: src, logger: opts.Logger}
	v.ticker, _ = opts.Clock.(clock.WithTicker)
	if v.ticker == nil {
		v.ticker = clock.RealClock{}
	}
	if src.kind != sourceURL && opts.CACertificate != "" {
		return nil, fmt.Errorf("%w: %s applies to an https source only", ErrInvalidOptions, OptionCACertificate)
	}
	switch src.kind {
	case sourceInline:
		set, err := parseKeySet(src.inline)
		if err != nil {
			return nil, fmt.Errorf("%w: inline source: %w", ErrInvalidOptions, err)
		}
		v.keys.Store(&set)
	case sourceURL:
		if v.client, err = newHTTPClient(opts, src); err != nil {
			return nil, err
		}
		if src.url.Scheme != "https" {
			v.logger.Warn("JWKS source is a plain http URL: the key set, and so every token, can be forged on the network; use https",
				zap.String("url", src.url.Redacted()))
		}
	}
	return v, nil
}

// newHTTPClient returns opts.HTTPClient, or a client that trusts
// CACertificate, times out after RequestTimeout and never follows a
// redirect from https to http.
func newHTTPClient(opts Options, src source) (*http.Client, error) {
	if opts.HTTPClient != nil {
		return opts.HTTPClient, nil
	}
	pool, err := loadCAPool(opts.CACertificate)
	if err != nil {
		return nil, err
	}
	if pool != nil && src.url.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s applies to an https source only", ErrInvalidOptions, OptionCACertificate)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{
		Transport: transport,
		Timeout:   opts.RequestTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("refusing redirect from https to %s", req.URL.Scheme)
			}
			return nil
		},
	}, nil
}

// Ready reports whether a key set is loaded. It never blocks.
func (v *Validator) Ready() bool { return v.keys.Load() != nil }

// Start keeps the key set current until ctx is done, then returns nil: it
// fetches a URL source every MinRefreshInterval (retrying sooner, with
// backoff, until a first set is loaded), or watches a file source and
// reloads it when it changes. A failed fetch or reload is logged and keeps
// the last good set. For an inline source it only waits for ctx. Start may
// be called once; it fails if a file source's directory cannot be watched.
func (v *Validator) Start(ctx context.Context) error {
	if !v.started.CompareAndSwap(false, true) {
		return errors.New("jwks validator already started")
	}
	switch v.src.kind {
	case sourceURL:
		defer v.client.CloseIdleConnections()
		v.runURL(ctx)
		return nil
	case sourceFile:
		return v.runFile(ctx)
	default:
		<-ctx.Done()
		return nil
	}
}

// store puts set in force.
func (v *Validator) store(set jwk.Set, fields ...zap.Field) {
	first := v.keys.Swap(&set) == nil
	fields = append(fields, zap.Int("keys", set.Len()))
	if first {
		v.logger.Info("Loaded JWKS", fields...)
	} else {
		v.logger.Debug("Reloaded JWKS", fields...)
	}
}

// fileField names the file of a file source in logs.
func (v *Validator) fileField() zap.Field { return zap.String(log.KeyFile, v.src.path) }
