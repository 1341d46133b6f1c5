package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/log"
)

// DefaultDebounce is how long a FileWatcher waits after the last change
// event before it reads the file.
const DefaultDebounce = 200 * time.Millisecond

// FileWatcherOptions configures NewFileWatcher.
type FileWatcherOptions struct {
	// Path is the Configuration file. Required.
	Path string
	// Logger receives reload and rejection messages. Default: none.
	Logger *zap.Logger
	// Debounce is how long to wait after the last event in the file's
	// directory before reading the file, so that an editor's or the
	// kubelet's multi-step replace is read once, complete. Default
	// DefaultDebounce.
	Debounce time.Duration
	// LookupEnv, when set, expands $VAR and ${VAR} in the file before
	// parsing it (see ExpandEnv). cmd/ passes os.LookupEnv. Default: no
	// expansion.
	LookupEnv func(string) (string, bool)
	// Clock times the debounce. Default: the real clock.
	Clock clock.WithTicker
}

// FileWatcher is a Source that follows a Configuration file. It watches
// the file's directory rather than the file, so it sees an editor's
// rename-over-the-original and Kubernetes' "..data" symlink swap of a
// mounted ConfigMap, and it keeps working after the file is replaced.
type FileWatcher struct {
	opts    FileWatcherOptions
	current atomic.Pointer[Config]
	started atomic.Bool

	// lastSeen is the file content last read, valid or not; only the
	// Start goroutine touches it.
	lastSeen []byte
}

// NewFileWatcher reads and parses the file once. It fails when the file is
// missing or invalid, so a broken configuration stops start-up rather than
// running with defaults.
func NewFileWatcher(opts FileWatcherOptions) (*FileWatcher, error) {
	if opts.Path == "" {
		return nil, errors.New("config: file watcher: Path is required")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	w := &FileWatcher{opts: opts}
	data, cfg, err := loadFile(opts.Path, opts.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	w.lastSeen = data
	w.current.Store(&cfg)
	return w, nil
}

// Current returns the last valid configuration read from the file. It
// never blocks (an atomic load), so it can be called on every request.
func (w *FileWatcher) Current() Config { return *w.current.Load() }

// Start watches the file until ctx is done, then returns nil. After each
// change that yields a different valid Config it replaces Current, logs
// "Configuration reloaded" at info level and then calls onChange (if not
// nil) with the new Config, on Start's goroutine. A change that does not
// parse keeps the last good Config and is logged at error level with the
// field path and the problem. Start returns an error only when it cannot
// watch the directory; it may be called once.
func (w *FileWatcher) Start(ctx context.Context, onChange func(Config)) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("config: file watcher already started")
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("config: watch configuration file: %w", err)
	}
	defer fsw.Close()
	dir := filepath.Dir(w.opts.Path)
	if err := fsw.Add(dir); err != nil {
		return fmt.Errorf("config: watch directory %s: %w", dir, err)
	}
	logger := w.opts.Logger.With(zap.String(log.KeyFile, w.opts.Path))
	logger.Debug("Watching configuration file")

	var (
		timer  clock.Timer
		timerC <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fsw.Events:
			if !ok {
				return errors.New("config: file watcher closed unexpectedly")
			}
			if !w.relevant(ev) {
				continue
			}
			if timer == nil {
				timer = w.opts.Clock.NewTimer(w.opts.Debounce)
			} else {
				timer.Stop()
				timer.Reset(w.opts.Debounce)
			}
			timerC = timer.C()
		case err, ok := <-fsw.Errors:
			if !ok {
				return errors.New("config: file watcher closed unexpectedly")
			}
			logger.Warn("Configuration file watch error", zap.Error(err))
		case <-timerC:
			timerC = nil
			w.reload(logger, onChange)
		}
	}
}

// relevant reports whether ev may have changed the file: an event on the
// file itself, or on the kubelet's "..data" and "..<timestamp>" entries
// behind a mounted ConfigMap. Attribute-only changes are ignored.
func (w *FileWatcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Base(ev.Name)
	return name == filepath.Base(w.opts.Path) || strings.HasPrefix(name, "..")
}

// reload reads the file and, if it changed and is valid, publishes it.
func (w *FileWatcher) reload(logger *zap.Logger, onChange func(Config)) {
	data, cfg, err := loadFile(w.opts.Path, w.opts.LookupEnv)
	if data == nil {
		// The file may be between the steps of a replace; the next event
		// brings the new one. Until then the last good Config stays.
		logger.Error("Cannot read configuration file; keeping the last good configuration", zap.Error(err))
		w.lastSeen = nil
		return
	}
	if w.lastSeen != nil && bytes.Equal(data, w.lastSeen) {
		return
	}
	w.lastSeen = data
	if err != nil {
		logger.Error("Rejected configuration change; keeping the last good configuration", zap.Error(err))
		return
	}
	if reflect.DeepEqual(cfg, *w.current.Load()) {
		logger.Debug("Configuration file changed but its settings did not")
		return
	}
	w.current.Store(&cfg)
	logger.Info("Configuration reloaded",
		zap.Duration("workload_cert_ttl", cfg.WorkloadCertTTL),
		zap.Duration("allowed_clock_skew", cfg.AllowedClockSkew),
		zap.Strings("token_validators", validatorNames(cfg.TokenValidators)))
	if onChange != nil {
		onChange(cfg)
	}
}

func validatorNames(vs []TokenValidator) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}
