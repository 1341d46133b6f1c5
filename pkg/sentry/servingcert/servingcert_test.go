package servingcert_test

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/servingcert"
	"github.com/trustplane/trustplane/test/testca"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var sentryID = spiffeid.RequireFromString("spiffe://cluster.local/ns/dapr-system/dapr-sentry")

// countingSigner signs with a real authority and counts, and can be told
// to fail.
type countingSigner struct {
	a     *ca.Authority
	n     atomic.Int32
	mu    sync.Mutex
	fail  error
	calls chan struct{}
}

func (c *countingSigner) SignWorkload(ctx context.Context, req ca.SignRequest) (*ca.Issued, error) {
	defer func() { c.calls <- struct{}{} }()
	c.mu.Lock()
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	c.n.Add(1)
	return c.a.SignWorkload(ctx, req)
}

func setup(t *testing.T) (*servingcert.Provider, *countingSigner, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Now())
	issuer := testca.NewRoot(t).Issuer(t)
	b := &bundle.Bundle{Roots: []*x509.Certificate{issuer.Root.Cert}, RootsPEM: issuer.Root.CertPEM(),
		IssuerChain: []*x509.Certificate{issuer.Cert}, IssuerKey: issuer.Key}
	a, err := ca.New(ca.Options{Bundle: b, Clock: clk})
	require.NoError(t, err)
	signer := &countingSigner{a: a, calls: make(chan struct{}, 100)}
	p, err := servingcert.New(servingcert.Options{
		Signer: signer, ID: sentryID, Clock: clk,
		// A skew longer than the TTL must not make renewal immediate.
		Lifetime: func() (time.Duration, time.Duration) { return time.Hour, 2 * time.Hour },
	})
	require.NoError(t, err)
	return p, signer, clk
}

func TestProvider_IssuesSentrysIdentity(t *testing.T) {
	p, _, _ := setup(t)
	_, err := p.GetCertificate(nil)
	require.Error(t, err, "no certificate before Issue")
	require.Error(t, p.Ready())

	require.NoError(t, p.Issue(t.Context()))
	cert, err := p.GetCertificate(nil)
	require.NoError(t, err)
	require.Len(t, cert.Certificate, 2, "leaf and issuer")
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	require.NoError(t, err)
	assert.Equal(t, sentryID.String(), leaf.URIs[0].String())
	require.NoError(t, p.Ready())
}

func TestProvider_RenewsAtHalfLifeAndOnDemand(t *testing.T) {
	p, signer, clk := setup(t)
	require.NoError(t, p.Issue(t.Context()))
	<-signer.calls
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	require.Eventually(t, clk.HasWaiters, time.Second, time.Millisecond)
	clk.Step(29 * time.Minute)
	select {
	case <-signer.calls:
		t.Fatal("renewed before half-life")
	case <-time.After(50 * time.Millisecond):
	}
	clk.Step(time.Minute)
	<-signer.calls
	assert.Equal(t, int32(2), signer.n.Load(), "renewed at half-life")

	first, _ := p.GetCertificate(nil)
	p.Renew()
	<-signer.calls
	require.Eventually(t, func() bool { c, _ := p.GetCertificate(nil); return c != first }, time.Second, time.Millisecond,
		"Renew issues a new certificate at once")
}

func TestProvider_KeepsTheCurrentCertificateWhenRenewalFails(t *testing.T) {
	p, signer, clk := setup(t)
	require.NoError(t, p.Issue(t.Context()))
	<-signer.calls
	before, _ := p.GetCertificate(nil)
	signer.mu.Lock()
	signer.fail = errors.New("issuer expired")
	signer.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	p.Renew()
	<-signer.calls
	after, err := p.GetCertificate(nil)
	require.NoError(t, err)
	assert.Same(t, before, after, "a failed renewal keeps serving the current certificate")
	require.NoError(t, p.Ready())

	signer.mu.Lock()
	signer.fail = nil
	signer.mu.Unlock()
	require.Eventually(t, clk.HasWaiters, time.Second, time.Millisecond)
	clk.Step(5 * time.Second) // the retry interval
	<-signer.calls
	require.Eventually(t, func() bool { c, _ := p.GetCertificate(nil); return c != before }, time.Second, time.Millisecond, "the retry succeeds")

	clk.Step(2 * time.Hour)
	assert.Error(t, p.Ready(), "an expired serving certificate is not ready")
}
