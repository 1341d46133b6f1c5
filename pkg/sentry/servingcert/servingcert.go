package servingcert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// retryInterval is how long to wait after a failed issuance.
const retryInterval = 5 * time.Second

// Signer signs Sentry's certificate; *ca.Authority is the implementation.
type Signer interface {
	SignWorkload(ctx context.Context, req ca.SignRequest) (*ca.Issued, error)
}

// Options configures New.
type Options struct {
	// Signer signs the certificate. Required.
	Signer Signer
	// ID is Sentry's SPIFFE ID. Required.
	ID spiffeid.ID
	// Lifetime returns the TTL and clock skew of the next certificate. Required.
	Lifetime func() (ttl, skew time.Duration)
	// Clock drives renewals. Default: the real clock.
	Clock clock.WithTicker
	// KeyAlgorithm is the serving key's algorithm. Default Ed25519, as
	// Dapr v1.18's Sentry.
	KeyAlgorithm bundle.KeyAlgorithm
	// OnIssueError is called with each failed issuance (metrics). Optional.
	OnIssueError func(error)
	// Logger logs issuances. Default: none.
	Logger *zap.Logger
}

// Provider holds the current serving certificate.
type Provider struct {
	opts    Options
	current atomic.Pointer[tls.Certificate]
	notAft  atomic.Int64 // NotAfter, unix nanoseconds
	issued  atomic.Int64 // when the current certificate was issued
	renew   chan struct{}
}

// New returns a Provider with no certificate yet; call Issue.
func New(opts Options) (*Provider, error) {
	if opts.Signer == nil || opts.ID.IsZero() || opts.Lifetime == nil {
		return nil, errors.New("servingcert: Signer, ID and Lifetime are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Provider{opts: opts, renew: make(chan struct{}, 1)}, nil
}

// Issue signs a new certificate with a fresh key and makes it current.
func (p *Provider) Issue(ctx context.Context) error {
	key, err := bundle.GenerateKey(p.opts.KeyAlgorithm)
	if err != nil {
		return fmt.Errorf("servingcert: generate key: %w", err)
	}
	ttl, skew := p.opts.Lifetime()
	issued, err := p.opts.Signer.SignWorkload(ctx, ca.SignRequest{PublicKey: key.Public(), ID: p.opts.ID, TTL: ttl, ClockSkew: skew})
	if err != nil {
		if p.opts.OnIssueError != nil {
			p.opts.OnIssueError(err)
		}
		return fmt.Errorf("servingcert: issue %s: %w", p.opts.ID, err)
	}
	cert := tls.Certificate{PrivateKey: key}
	for rest := issued.ChainPEM; ; {
		var der []byte
		der, rest = nextCert(rest)
		if der == nil {
			break
		}
		cert.Certificate = append(cert.Certificate, der)
	}
	p.current.Store(&cert)
	// Renewal counts from issuance, not from the NotBefore backdated by
	// the clock skew (which may exceed a short TTL).
	p.issued.Store(p.opts.Clock.Now().UnixNano())
	p.notAft.Store(issued.NotAfter.UnixNano())
	p.opts.Logger.Info("Issued Sentry's serving certificate",
		zap.String(log.KeySPIFFEID, p.opts.ID.String()), zap.String(log.KeySerial, issued.Serial),
		zap.Time(log.KeyNotAfter, issued.NotAfter))
	return nil
}

// Renew asks the running Provider to issue a new certificate now, for
// example because the trust bundle changed. It does not block.
func (p *Provider) Renew() {
	select {
	case p.renew <- struct{}{}:
	default:
	}
}

// Start renews the certificate at half its lifetime, and on Renew, until
// ctx is done; a failed issuance is retried every retryInterval while the
// current certificate keeps serving. It returns nil when ctx is done.
func (p *Provider) Start(ctx context.Context) error {
	failed := false
	for {
		wait := retryInterval
		if !failed && p.current.Load() != nil {
			at, na := time.Unix(0, p.issued.Load()), time.Unix(0, p.notAft.Load())
			wait = max(at.Add(na.Sub(at)/2).Sub(p.opts.Clock.Now()), 0)
		}
		t := p.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		case <-p.renew:
			t.Stop()
		}
		err := p.Issue(ctx)
		failed = err != nil
		if failed {
			p.opts.Logger.Error("Failed to renew Sentry's serving certificate; retrying",
				zap.Duration("retry_in", retryInterval), zap.Error(err))
		}
	}
}

// GetCertificate returns the current certificate, for tls.Config.
func (p *Provider) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := p.current.Load()
	if c == nil {
		return nil, errors.New("servingcert: no certificate issued yet")
	}
	return c, nil
}

// Ready reports nil while a certificate that has not expired is current.
func (p *Provider) Ready() error {
	if p.current.Load() == nil {
		return errors.New("no serving certificate issued yet")
	}
	if !p.opts.Clock.Now().Before(time.Unix(0, p.notAft.Load())) {
		return errors.New("serving certificate expired")
	}
	return nil
}
