package config

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	eventually = 5 * time.Second
	tick       = 5 * time.Millisecond
)

func ttlDoc(ttl string) string { return withMTLS("    workloadCertTTL: " + ttl + "\n") }

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

// running is a FileWatcher started by startWatcher.
type running struct {
	w       *FileWatcher
	changes chan Config
	logs    *observer.ObservedLogs
	cancel  context.CancelFunc
	done    chan error
}

// startWatcher creates a watcher on path and starts it, returning once it
// watches the directory. The watcher is stopped, and must return nil, when
// the test ends.
func startWatcher(t *testing.T, opts FileWatcherOptions) *running {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	opts.Logger = zap.New(core)
	if opts.Debounce == 0 {
		opts.Debounce = 10 * time.Millisecond
	}
	w, err := NewFileWatcher(opts)
	require.NoError(t, err)
	ctx, cancel := contextWithCancel(t)
	r := &running{w: w, changes: make(chan Config, 10), logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Start(ctx, func(c Config) { r.changes <- c }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			assert.NoError(t, err)
		case <-time.After(eventually):
			t.Error("Start did not return after ctx was cancelled")
		}
	})
	require.Eventually(t, func() bool {
		return logs.FilterMessage("Watching configuration file").Len() > 0
	}, eventually, tick)
	return r
}

func (r *running) waitTTL(t *testing.T, want time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return r.w.Current().WorkloadCertTTL == want }, eventually, tick)
	select {
	case c := <-r.changes:
		assert.Equal(t, want, c.WorkloadCertTTL)
	case <-time.After(eventually):
		t.Fatal("onChange was not called")
	}
}

func TestFileWatcherReloads(t *testing.T) {
	tests := map[string]func(t *testing.T, path string){
		"an in-place write is picked up": func(t *testing.T, path string) {
			writeFile(t, path, ttlDoc("2h"))
		},
		"an editor's rename over the file is picked up": func(t *testing.T, path string) {
			tmp := filepath.Join(filepath.Dir(path), ".config.yaml.swp")
			writeFile(t, tmp, ttlDoc("2h"))
			require.NoError(t, os.Rename(tmp, path))
		},
		"a file removed and written again is picked up": func(t *testing.T, path string) {
			require.NoError(t, os.Remove(path))
			time.Sleep(30 * time.Millisecond)
			writeFile(t, path, ttlDoc("2h"))
		},
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			writeFile(t, path, ttlDoc("1h"))
			r := startWatcher(t, FileWatcherOptions{Path: path})
			require.Equal(t, time.Hour, r.w.Current().WorkloadCertTTL)

			change(t, path)
			r.waitTTL(t, 2*time.Hour)

			reloaded := r.logs.FilterMessage("Configuration reloaded").AllUntimed()
			require.Len(t, reloaded, 1)
			assert.Equal(t, zapcore.InfoLevel, reloaded[0].Level)
			fields := reloaded[0].ContextMap()
			assert.Equal(t, 2*time.Hour, fields["workload_cert_ttl"])
			assert.Equal(t, DefaultAllowedClockSkew, fields["allowed_clock_skew"])
			assert.Equal(t, path, fields["file"])
		})
	}
}

// TestFileWatcherFollowsConfigMapSwap lays the directory out as the
// kubelet does for a mounted ConfigMap and updates it the same way:
// config.yaml -> ..data/config.yaml, ..data -> ..<ts>, and an update
// renames a new ..data symlink over the old one.
func TestFileWatcherFollowsConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, ttl string) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o700))
		writeFile(t, filepath.Join(dir, name, "config.yaml"), ttlDoc(ttl))
	}
	version("..2026_11_23_12_00_00.1", "1h")
	require.NoError(t, os.Symlink("..2026_11_23_12_00_00.1", filepath.Join(dir, "..data")))
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.Symlink("..data/config.yaml", path))

	r := startWatcher(t, FileWatcherOptions{Path: path})
	require.Equal(t, time.Hour, r.w.Current().WorkloadCertTTL)

	version("..2026_11_23_12_05_00.2", "3h")
	require.NoError(t, os.Symlink("..2026_11_23_12_05_00.2", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "..2026_11_23_12_00_00.1")))

	r.waitTTL(t, 3*time.Hour)
}

func TestFileWatcherKeepsLastGoodOnBrokenEdit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, ttlDoc("1h"))
	r := startWatcher(t, FileWatcherOptions{Path: path})

	writeFile(t, path, ttlDoc("0s"))
	require.Eventually(t, func() bool {
		return r.logs.FilterMessage("Rejected configuration change; keeping the last good configuration").Len() == 1
	}, eventually, tick)
	rejected := r.logs.FilterMessage("Rejected configuration change; keeping the last good configuration").AllUntimed()[0]
	assert.Equal(t, zapcore.ErrorLevel, rejected.Level)
	assert.Contains(t, rejected.ContextMap()["error"], `spec.mtls.workloadCertTTL: must be from 1s to 8760h0m0s, got "0s"`)
	assert.Equal(t, time.Hour, r.w.Current().WorkloadCertTTL, "the last good configuration stays in force")
	assert.Empty(t, r.changes, "onChange is not called for a rejected change")

	// A later valid edit applies.
	writeFile(t, path, ttlDoc("4h"))
	r.waitTTL(t, 4*time.Hour)
}

func TestFileWatcherIgnoresChangesWithoutEffect(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, ttlDoc("1h"))
	r := startWatcher(t, FileWatcherOptions{Path: path})

	writeFile(t, filepath.Join(dir, "other.yaml"), ttlDoc("5h"))
	writeFile(t, path, "# same settings\n"+ttlDoc("1h"))
	require.Eventually(t, func() bool {
		return r.logs.FilterMessage("Configuration file changed but its settings did not").Len() == 1
	}, eventually, tick)
	assert.Equal(t, time.Hour, r.w.Current().WorkloadCertTTL)
	assert.Empty(t, r.changes)
	assert.Zero(t, r.logs.FilterMessage("Configuration reloaded").Len())
}

func TestFileWatcherExpandsEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, ttlDoc("${TTL}"))
	env := map[string]string{"TTL": "6h"}
	r := startWatcher(t, FileWatcherOptions{Path: path, LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	assert.Equal(t, 6*time.Hour, r.w.Current().WorkloadCertTTL)
}

func TestFileWatcherDebouncesWithItsClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, ttlDoc("1h"))
	clk := clocktesting.NewFakeClock(time.Now())
	r := startWatcher(t, FileWatcherOptions{Path: path, Clock: clk, Debounce: time.Second})

	writeFile(t, path, ttlDoc("2h"))
	require.Eventually(t, clk.HasWaiters, eventually, tick)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, time.Hour, r.w.Current().WorkloadCertTTL, "nothing is read before the debounce elapses")

	clk.Step(time.Second)
	r.waitTTL(t, 2*time.Hour)
}

func TestNewFileWatcherRefusesBadStart(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "apiVersion: v1\nkind: ConfigMap\n")

	tests := map[string]struct {
		opts    FileWatcherOptions
		wantIs  error
		wantMsg string
	}{
		"a missing path is rejected": {
			opts:    FileWatcherOptions{},
			wantMsg: "Path is required",
		},
		"a missing file is rejected": {
			opts:   FileWatcherOptions{Path: filepath.Join(dir, "missing.yaml")},
			wantIs: fs.ErrNotExist,
		},
		"an invalid file is rejected with the reason": {
			opts:    FileWatcherOptions{Path: bad},
			wantIs:  ErrInvalid,
			wantMsg: `kind: want "Configuration", got "ConfigMap"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := NewFileWatcher(tc.opts)
			require.Error(t, err)
			assert.Nil(t, w)
			if tc.wantIs != nil {
				assert.ErrorIs(t, err, tc.wantIs)
			}
			assert.ErrorContains(t, err, tc.wantMsg)
		})
	}
}

func TestFileWatcherStart(t *testing.T) {
	t.Run("a cancelled context makes Start return nil", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		writeFile(t, path, ttlDoc("1h"))
		r := startWatcher(t, FileWatcherOptions{Path: path})
		r.cancel()
		select {
		case err := <-r.done:
			require.NoError(t, err)
			r.done <- err // for the cleanup check
		case <-time.After(eventually):
			t.Fatal("Start did not return")
		}
	})
	t.Run("Start can only be called once", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		writeFile(t, path, ttlDoc("1h"))
		r := startWatcher(t, FileWatcherOptions{Path: path})
		assert.ErrorContains(t, r.w.Start(t.Context(), nil), "already started")
	})
	t.Run("a directory that disappears before Start is an error", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "conf")
		require.NoError(t, os.Mkdir(dir, 0o700))
		path := filepath.Join(dir, "config.yaml")
		writeFile(t, path, ttlDoc("1h"))
		w, err := NewFileWatcher(FileWatcherOptions{Path: path})
		require.NoError(t, err)
		require.NoError(t, os.RemoveAll(dir))
		assert.ErrorContains(t, w.Start(t.Context(), nil), "watch directory")
		assert.Equal(t, time.Hour, w.Current().WorkloadCertTTL)
	})
}
