package jwks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// runFile loads the file, then reloads it on every change in its directory
// until ctx is done. Watching the directory rather than the file follows
// editors and Kubernetes volumes, which replace a file instead of writing
// it in place.
func (v *Validator) runFile(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch JWKS file: %w", err)
	}
	defer w.Close()
	dir := filepath.Dir(v.src.path)
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch JWKS file directory %q: %w", dir, err)
	}

	var last []byte
	reload := func() {
		b, err := readFile(v.src.path)
		if err != nil {
			v.logger.Warn("Failed to read JWKS file; keeping the last good key set",
				v.fileField(), zap.Bool("ready", v.Ready()), zap.Error(err))
			return
		}
		if last != nil && bytes.Equal(b, last) {
			return
		}
		set, err := parseKeySet(b)
		if err != nil {
			// A half-written file also lands here; its next write event
			// brings the reload that works.
			v.logger.Warn("Failed to parse JWKS file; keeping the last good key set",
				v.fileField(), zap.Bool("ready", v.Ready()), zap.Error(err))
			return
		}
		last = b
		v.store(set, v.fileField())
	}

	reload()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			reload()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			v.logger.Warn("JWKS file watch error", v.fileField(), zap.Error(err))
		}
	}
}

// readFile reads at most maxKeySetSize bytes of path.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeySetSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxKeySetSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, maxKeySetSize)
	}
	return b, nil
}
