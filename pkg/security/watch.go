package security

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/log"
)

// newAnchorsWatcher watches the directory of the anchors file. The directory
// rather than the file is watched because Kubernetes updates a mounted
// ConfigMap by swapping a symlink, which replaces the file instead of
// writing to it.
func newAnchorsWatcher(path string) (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("create file watcher: %w", err)
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("watch %s: %w", filepath.Dir(path), err)
	}
	return w, nil
}

// watchAnchors reloads the anchors file on every change in its directory
// until ctx is done, calling changed when the anchors in use changed. It
// closes w before returning.
func (c *Client) watchAnchors(ctx context.Context, w *fsnotify.Watcher, changed func()) {
	defer func() { _ = w.Close() }()
	path := c.opts.TrustAnchorsFile
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			c.log.Warn("Trust anchors watch error", zap.String(log.KeyFile, path), zap.Error(err))
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			// Any event in the directory may be the file changing under a
			// symlink; reloadFile ignores content it has already seen.
			did, err := c.anchors.reloadFile(path)
			if err != nil {
				c.log.Warn("Keeping current trust anchors; cannot load file",
					zap.String(log.KeyFile, path), zap.Error(err))
				continue
			}
			if did {
				c.log.Info("Trust anchors reloaded", zap.String(log.KeyFile, path),
					zap.Int("anchors", len(c.anchors.current())))
				changed()
			}
		}
	}
}
