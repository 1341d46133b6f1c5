package sentry

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// memStore is a store whose bundle (or error) the test sets; it counts
// Saves.
type memStore struct {
	mu    sync.Mutex
	b     *bundle.Bundle
	err   error
	saves int
}

func (m *memStore) Load() (*bundle.Bundle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.err != nil:
		return nil, m.err
	case m.b == nil:
		return nil, bundle.ErrNotFound
	}
	return m.b, nil
}

func (m *memStore) Save(b *bundle.Bundle) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saves++
	m.b = b
	return nil
}

func (m *memStore) Watch(ctx context.Context, _ func(*bundle.Bundle), _ func(error)) error {
	<-ctx.Done()
	return nil
}

func (m *memStore) set(b *bundle.Bundle, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b, m.err = b, err
}

func (m *memStore) saved() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// freeAddr is a free loopback address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func probe(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// startWaiting starts a Sentry with WaitForBundle over store.
func startWaiting(t *testing.T, ctx context.Context, store *memStore, clk *clocktesting.FakeClock) (healthAddr string, done <-chan error) {
	t.Helper()
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	healthAddr = freeAddr(t)
	s, err := New(Options{
		TrustDomain: td, Namespace: "dapr-system", Store: store, Config: config.Static(config.Default()),
		WaitForBundle: true, GRPCListener: lis, HealthzAddress: healthAddr, Clock: clk,
	})
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { errc <- s.Start(ctx) }()
	return healthAddr, errc
}

func TestSentryWaitsForItsBundleInsteadOfGeneratingOne(t *testing.T) {
	store := &memStore{}
	clk := clocktesting.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	healthAddr, done := startWaiting(t, ctx, store, clk)
	defer func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("Start did not return")
		}
	}()

	require.Eventually(t, func() bool { c, _ := probe(t, healthAddr, "/livez"); return c == http.StatusOK }, 10*time.Second, 10*time.Millisecond,
		"live while waiting")
	code, body := probe(t, healthAddr, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "no trust bundle loaded yet")
	code, _ = probe(t, healthAddr, "/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "/healthz has Dapr's meaning: not before everything serves")

	require.Eventually(t, clk.HasWaiters, 10*time.Second, time.Millisecond)
	clk.Step(bundleWaitInterval)
	time.Sleep(50 * time.Millisecond)
	assert.Zero(t, store.saved(), "nothing generated while the store is empty")

	store.set(nil, fmt.Errorf("%w: issuer.key is missing", bundle.ErrIncomplete))
	clk.Step(bundleWaitInterval)
	time.Sleep(50 * time.Millisecond)
	code, _ = probe(t, healthAddr, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "a bundle its owner is still writing is waited on")

	b, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: spiffeid.RequireTrustDomainFromString("cluster.local"), Namespace: "dapr-system", Now: clk.Now()})
	require.NoError(t, err)
	store.set(b, nil)
	require.Eventually(t, func() bool {
		clk.Step(bundleWaitInterval)
		c, _ := probe(t, healthAddr, "/readyz")
		return c == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "ready once the owner stored the bundle")
	code, _ = probe(t, healthAddr, "/healthz")
	assert.Equal(t, http.StatusOK, code, "/healthz too")
	assert.Zero(t, store.saved(), "the owner's bundle is used as it is")
}

func TestSentryStoppedWhileWaitingReturnsNil(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	healthAddr, done := startWaiting(t, ctx, &memStore{}, clocktesting.NewFakeClock(time.Now()))
	require.Eventually(t, func() bool { c, _ := probe(t, healthAddr, "/livez"); return c == http.StatusOK }, 10*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "a graceful stop")
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return")
	}
}

// pausingAnchors holds Start in SetRoots, after the bundle is loaded and
// before the other parts are up, until released.
type pausingAnchors struct {
	once             *sync.Once
	entered, release chan struct{}
}

func (p pausingAnchors) SetRoots([]byte) {
	p.once.Do(func() { // later calls do not pause
		close(p.entered)
		<-p.release
	})
}

func (pausingAnchors) Start(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func TestSentryIsNotReadyBeforeEveryPartIs(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	b, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: time.Now()})
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	healthAddr := freeAddr(t)
	pause := pausingAnchors{once: &sync.Once{}, entered: make(chan struct{}), release: make(chan struct{})}
	s, err := New(Options{
		TrustDomain: td, Namespace: "dapr-system", Store: &memStore{b: b}, Config: config.Static(config.Default()),
		Anchors: pause, GRPCListener: lis, HealthzAddress: healthAddr,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() { cancel(); assert.NoError(t, <-done) }()

	select {
	case <-pause.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Start never published the roots")
	}
	code, body := probe(t, healthAddr, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "the bundle is loaded but the server is not up: %s", body)
	assert.Contains(t, body, "starting")
	close(pause.release)
	require.Eventually(t, func() bool { c, _ := probe(t, healthAddr, "/readyz"); return c == http.StatusOK }, 10*time.Second, 10*time.Millisecond)
}
