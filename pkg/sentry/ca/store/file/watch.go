package file

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	tplog "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// Watch follows the directories of the three files until ctx is done, then
// returns nil. It watches directories, not files, so that an editor's save,
// a rename over a file and a kubelet ..data symlink swap are all seen.
//
// Once events have settled for the debounce time, Watch loads the files:
// a valid bundle that differs from the last one loaded or saved goes to
// onChange; anything else (a partial set, a parse error) goes to onError and
// the caller keeps its bundle. Validity periods are the caller's to check.
// Watch fails at once if a directory cannot be watched (for example because
// it does not exist).
func (s *Store) Watch(ctx context.Context, onChange func(*bundle.Bundle), onError func(error)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch trust bundle: %w", err)
	}
	defer func() { _ = w.Close() }()
	dirs := s.watchedNames()
	for dir := range dirs {
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("watch trust bundle directory %s: %w", dir, err)
		}
		s.log.Debug("Watching trust bundle directory", zap.String(tplog.KeyFile, dir))
	}
	if s.watching != nil {
		s.watching()
	}

	var (
		fire  <-chan time.Time
		timer clock.Timer
	)
	schedule := func() {
		if timer == nil {
			timer = s.clock.NewTimer(s.debounce)
			fire = timer.C()
			return
		}
		timer.Reset(s.debounce)
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watch trust bundle: the file watcher stopped")
			}
			dir, base := filepath.Split(ev.Name)
			dir = filepath.Clean(dir)
			if _, self := dirs[filepath.Clean(ev.Name)]; self && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				err := fmt.Errorf("watch trust bundle: directory %s was removed or renamed; further changes go unseen", ev.Name)
				s.log.Error("Trust bundle directory is gone", zap.String(tplog.KeyFile, ev.Name))
				onError(err)
				continue
			}
			if !relevant(dirs[dir], base) {
				continue
			}
			s.log.Debug("Trust bundle file event", zap.String(tplog.KeyFile, ev.Name), zap.String("op", ev.Op.String()))
			schedule()
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch trust bundle: the file watcher stopped")
			}
			// Events may have been lost (queue overflow): look anyway.
			s.log.Warn("Trust bundle file watcher error; reloading to be safe", zap.Error(err))
			schedule()
		case <-fire:
			s.reload(onChange, onError)
		}
	}
}

// reload loads the files and reports the outcome.
func (s *Store) reload(onChange func(*bundle.Bundle), onError func(error)) {
	prev := s.last.Load()
	b, err := s.Load()
	if err != nil {
		s.log.Warn("Trust bundle files changed but do not make a valid bundle; keeping the current one",
			zap.String(tplog.KeyReason, err.Error()))
		onError(err)
		return
	}
	if b.Equal(prev) {
		s.log.Debug("Trust bundle files touched without a change")
		return
	}
	s.log.Info("Trust bundle files changed; reloaded",
		zap.String(tplog.KeyFile, s.paths[1]), zap.Time(tplog.KeyNotAfter, b.Issuer().NotAfter))
	onChange(b)
}

// watchedNames maps each directory to watch to the base names in it that
// matter.
func (s *Store) watchedNames() map[string]map[string]bool {
	dirs := map[string]map[string]bool{}
	for _, p := range s.allPaths() {
		dir, base := filepath.Dir(p), filepath.Base(p)
		if dirs[dir] == nil {
			dirs[dir] = map[string]bool{}
		}
		dirs[dir][base] = true
	}
	return dirs
}

// relevant reports whether an event on base in a watched directory may
// change the bundle: one of the files itself, or a kubelet-style ..data
// entry behind which the files are symlinked.
func relevant(names map[string]bool, base string) bool {
	return names[base] || strings.HasPrefix(base, "..")
}
