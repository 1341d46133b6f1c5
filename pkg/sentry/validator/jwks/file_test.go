package jwks

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest/observer"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// run starts v and returns a function that stops it and checks that Start
// returned nil.
func run(t *testing.T, v *Validator) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- v.Start(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "Start returns nil when its context ends")
		case <-time.After(10 * time.Second):
			t.Fatal("Start did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

// verifies reports whether token proves testSubject to v.
func verifies(t *testing.T, v *Validator, token string) bool {
	t.Helper()
	_, err := v.Validate(t.Context(), validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", Token: token})
	return err == nil
}

// logged reports whether a log line with msg was written.
func logged(logs *observer.ObservedLogs, msg string) func() bool {
	return func() bool { return logs.FilterMessage(msg).Len() > 0 }
}

// replaceFile atomically replaces path with b, as editors and Kubernetes
// volume updates do.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, b, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

const eventually = 10 * time.Second

func TestFileSourceLoadsAndReloads(t *testing.T) {
	a := newKey(t, jwa.ES256, "a")
	b := newKey(t, jwa.RS256, "b")
	path := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(path, keySetJSON(t, a), 0o600))
	opts, _, logs := testOptions(path)
	v, err := New(opts)
	require.NoError(t, err)
	require.False(t, v.Ready(), "a file source is loaded by Start")
	tokenA, tokenB := mint(t, a, validClaims()), mint(t, b, validClaims())

	stop := run(t, v)
	require.Eventually(t, v.Ready, eventually, 10*time.Millisecond)
	assert.True(t, verifies(t, v, tokenA))
	assert.False(t, verifies(t, v, tokenB))

	// Replacing the file with a new key set brings in the new keys.
	replaceFile(t, path, keySetJSON(t, b))
	require.Eventually(t, func() bool { return verifies(t, v, tokenB) }, eventually, 10*time.Millisecond)
	assert.False(t, verifies(t, v, tokenA), "the old key set is gone")

	// A bad edit is logged and keeps the last good set.
	replaceFile(t, path, []byte(`{"keys": [`))
	require.Eventually(t, logged(logs, "Failed to parse JWKS file; keeping the last good key set"), eventually, 10*time.Millisecond)
	assert.True(t, verifies(t, v, tokenB))

	// Writing in place is noticed too.
	require.NoError(t, os.WriteFile(path, keySetJSON(t, a, b), 0o600))
	require.Eventually(t, func() bool { return verifies(t, v, tokenA) }, eventually, 10*time.Millisecond)
	assert.True(t, verifies(t, v, tokenB))

	stop()
}

func TestFileSourceThatAppearsLater(t *testing.T) {
	k := newKey(t, jwa.ES256, "k")
	path := filepath.Join(t.TempDir(), "jwks.json")
	opts, _, logs := testOptions(path)
	v, err := New(opts)
	require.NoError(t, err)
	run(t, v)

	require.Eventually(t, logged(logs, "Failed to read JWKS file; keeping the last good key set"), eventually, 10*time.Millisecond)
	assert.False(t, v.Ready())

	replaceFile(t, path, keySetJSON(t, k))
	require.Eventually(t, v.Ready, eventually, 10*time.Millisecond)
	assert.True(t, verifies(t, v, mint(t, k, validClaims())))
}

func TestFileSourceInAMissingDirectoryFailsToStart(t *testing.T) {
	opts, _, _ := testOptions(filepath.Join(t.TempDir(), "missing", "jwks.json"))
	v, err := New(opts)
	require.NoError(t, err)
	err = v.Start(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "watch JWKS file directory")
}

func TestStartTwiceFails(t *testing.T) {
	opts, _, _ := testOptions(string(keySetJSON(t, newKey(t, jwa.ES256, "k"))))
	v, err := New(opts)
	require.NoError(t, err)
	run(t, v)
	require.Eventually(t, v.started.Load, eventually, time.Millisecond)
	assert.ErrorContains(t, v.Start(t.Context()), "already started")
}
