package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeConfig answers GETs with the current resourceVersion ("" missing,
// "!" forbidden) and counts Loads.
type fakeConfig struct {
	mu    sync.Mutex
	rv    string
	loads int
	gets  int
}

func (f *fakeConfig) set(rv string) { f.mu.Lock(); f.rv = rv; f.mu.Unlock() }

func (f *fakeConfig) loaded() int { f.mu.Lock(); defer f.mu.Unlock(); return f.loads }

func (f *fakeConfig) read() int { f.mu.Lock(); defer f.mu.Unlock(); return f.gets }

func (f *fakeConfig) Get(_ context.Context, name string, _ metav1.GetOptions, _ ...string) (*unstructured.Unstructured, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	gr := schema.GroupResource{Group: "dapr.io", Resource: "configurations"}
	switch f.rv {
	case "":
		return nil, apierrors.NewNotFound(gr, name)
	case "!":
		return nil, apierrors.NewForbidden(gr, name, errors.New("RBAC"))
	}
	u := &unstructured.Unstructured{}
	u.SetName(name)
	u.SetResourceVersion(f.rv)
	return u, nil
}

func (f *fakeConfig) Load(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	return nil
}

func TestPollConfiguration(t *testing.T) {
	cfg := &fakeConfig{rv: "1"}
	clk := clocktesting.NewFakeClock(time.Now())
	core, logs := observer.New(zap.DebugLevel)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- pollConfiguration(ctx, cfg, cfg, "daprsystem", clk, 10*time.Second, zap.New(core)) }()
	t.Cleanup(func() { cancel(); assert.NoError(t, <-done) })

	tick := func(wantLoads int) {
		t.Helper()
		require.Eventually(t, clk.HasWaiters, 5*time.Second, time.Millisecond)
		gets := cfg.read()
		clk.Step(10 * time.Second)
		require.Eventually(t, func() bool { return cfg.read() == gets+1 && cfg.loaded() == wantLoads }, 5*time.Second, time.Millisecond)
	}
	tick(1) // the first read loads
	tick(1) // the same version is not loaded again
	cfg.set("2")
	tick(2) // an edit is
	cfg.set("")
	tick(2)
	tick(2)
	cfg.set("!")
	tick(2)
	tick(2)
	cfg.set("2")
	tick(3) // recreated, even with a version seen before
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("Reading the Configuration failed again").Len() >= 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, logs.FilterMessageSnippet("Configuration not found; keeping").Len(), "a missing object is one warning")
	assert.Equal(t, 1, logs.FilterLevelExact(zap.WarnLevel).FilterMessageSnippet("Reading the Configuration failed").Len(), "a run of failures is one warning")
}
