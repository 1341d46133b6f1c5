package daprbin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/daprbin"
)

// fatalTB records Fatalf and stops the calling goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatal runs fn with a fatalTB and returns what it failed with ("" if not).
func fatal(t *testing.T, fn func(testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestDir(t *testing.T) {
	t.Run("DAPR_BIN overrides", func(t *testing.T) {
		t.Setenv(daprbin.Env, "/somewhere/else")
		assert.Equal(t, "/somewhere/else", daprbin.Dir())
	})
	t.Run("default is the user cache directory, as hack/dapr-assets.sh", func(t *testing.T) {
		t.Setenv(daprbin.Env, "")
		base, err := os.UserCacheDir()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(base, "trustplane", "dapr-1.18.3"), daprbin.Dir())
	})
}

func TestMissingFailsNamingTheTarget(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(daprbin.Env, dir)

	msg := fatal(t, func(tb testing.TB) { daprbin.Path(tb, daprbin.Sentry) })
	assert.Contains(t, msg, "make dapr-tools")
	assert.Contains(t, msg, filepath.Join(dir, "sentry"))

	msg = fatal(t, func(tb testing.TB) { daprbin.ChartDir(tb) })
	assert.Contains(t, msg, "make dapr-tools")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "placement"), []byte("x"), 0o644))
	msg = fatal(t, func(tb testing.TB) { daprbin.Path(tb, daprbin.Placement) })
	assert.Contains(t, msg, "not an executable file")

	msg = fatal(t, func(tb testing.TB) { daprbin.Path(tb, "daprd") })
	assert.Contains(t, msg, `unknown binary "daprd"`)
}

func TestPresent(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(daprbin.Env, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "injector"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "charts", "dapr"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "charts", "dapr", "Chart.yaml"), nil, 0o644))

	assert.Equal(t, filepath.Join(dir, "injector"), daprbin.Path(t, daprbin.Injector))
	assert.Equal(t, filepath.Join(dir, "charts", "dapr"), daprbin.ChartDir(t))
}

// TestInstalled checks what make dapr-tools built: every binary runs and
// prints its usage, the chart is Dapr's, and daprsvid reports a usage error
// as its JSON event.
func TestInstalled(t *testing.T) {
	for _, name := range daprbin.Binaries {
		t.Run(name, func(t *testing.T) {
			path := daprbin.Path(t, name)
			out, err := run(t, path, "--help")
			require.NoError(t, err, "%s", out)
			assert.Contains(t, out, "Usage of")
		})
	}

	t.Run("chart", func(t *testing.T) {
		// Dapr's source chart: versions 0.0.0 and tag edge until Dapr's
		// release stamps them, so check its shape instead.
		dir := daprbin.ChartDir(t)
		chart, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
		require.NoError(t, err)
		assert.Contains(t, string(chart), "name: dapr\n")
		assert.DirExists(t, filepath.Join(dir, "charts", "dapr_sentry"))
		assert.DirExists(t, filepath.Join(dir, "charts", "dapr_sidecar_injector"))
	})

	t.Run("daprsvid reports errors as a JSON event on stdout", func(t *testing.T) {
		cmd := exec.Command(daprbin.Path(t, daprbin.DaprSVID), "--app-id", "x")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, 1, exit.ExitCode())
		var ev struct{ Event, Error string }
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &ev), "stdout: %q", stdout.String())
		assert.Equal(t, "error", ev.Event)
		assert.Contains(t, ev.Error, "--sentry-address")
		assert.Contains(t, ev.Error, "--trust-anchors-file")
	})
}

func run(t *testing.T, path string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), errors.New(strings.TrimSpace("timed out: " + out.String()))
	}
}
