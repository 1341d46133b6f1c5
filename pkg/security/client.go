package security

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/log"
)

// Client obtains and renews a workload's X.509-SVID from Sentry. It is safe
// for concurrent use; the Get methods never block.
type Client struct {
	opts    Options
	log     *zap.Logger
	anchors anchorSet

	started  atomic.Bool
	ready    chan struct{} // closed once the first SVID is stored
	renewNow chan struct{} // buffered(1): asks the renew loop to renew at once

	mu   sync.RWMutex
	svid *x509svid.SVID
}

var (
	_ x509svid.Source   = (*Client)(nil)
	_ x509bundle.Source = (*Client)(nil)
)

// New checks opts, loads the trust anchors and returns a Client. It does not
// contact Sentry; Start does.
func New(opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		opts: opts,
		log: opts.Logger.With(zap.String(log.KeyAppID, opts.AppID),
			zap.String(log.KeyNamespace, opts.Namespace)),
		ready:    make(chan struct{}),
		renewNow: make(chan struct{}, 1),
	}
	if opts.TrustAnchorsFile != "" {
		if _, err := c.anchors.reloadFile(opts.TrustAnchorsFile); err != nil {
			return nil, fmt.Errorf("%w: trust anchors file %s: %w", ErrInvalidOptions, opts.TrustAnchorsFile, err)
		}
	} else {
		certs, err := parseAnchors(opts.TrustAnchors)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
		c.anchors.setConfigured(certs)
	}
	return c, nil
}

// WaitReady blocks until the first SVID is there or ctx is done.
func (c *Client) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for first X.509-SVID: %w", ctx.Err())
	}
}

// GetX509SVID returns the current X.509-SVID, or ErrNotReady before the
// first one arrived. After a run of failed renewals the SVID returned may
// have expired; it is still returned, so the failure shows up at the peer
// with the certificate's dates rather than as a missing certificate. It
// implements x509svid.Source.
func (c *Client) GetX509SVID() (*x509svid.SVID, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.svid == nil {
		return nil, ErrNotReady
	}
	return c.svid, nil
}

// GetX509BundleForTrustDomain returns the current trust anchors as a bundle
// for td. Dapr has a single set of roots for every trust domain, so the same
// anchors are returned whatever td is. It implements x509bundle.Source.
func (c *Client) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	if td.IsZero() {
		return nil, errors.New("trust domain is empty")
	}
	return x509bundle.FromX509Authorities(td, c.anchors.current()), nil
}

// setSVID stores a new SVID and marks the client ready.
func (c *Client) setSVID(s *x509svid.SVID) {
	c.mu.Lock()
	first := c.svid == nil
	c.svid = s
	c.mu.Unlock()
	if first {
		close(c.ready)
	}
}

// currentSVID returns the stored SVID or nil.
func (c *Client) currentSVID() *x509svid.SVID {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.svid
}
