package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/log"
)

// ErrInvalidAnchors wraps every problem found in trust anchors.
var ErrInvalidAnchors = errors.New("invalid trust anchors")

// anchorsResync is how often a watched anchors file is read again even
// without a file system event, in case an event was missed.
const anchorsResync = time.Minute

// Anchors holds the current trust anchors (the PEM of Sentry's root
// certificates, as published in the dapr-trust-bundle ConfigMap) and tells
// subscribers when they change. It is safe for concurrent use.
type Anchors struct {
	logger *zap.Logger
	clock  clock.WithTicker

	mu    sync.RWMutex
	pem   []byte
	subs  []chan struct{}
	ready chan struct{}
}

// NewAnchors returns an empty Anchors; LoadFile, WatchFile or
// WatchConfigMap fill it. A nil logger logs nothing and a nil clock is the
// real one.
func NewAnchors(logger *zap.Logger, clk clock.WithTicker) *Anchors {
	if logger == nil {
		logger = zap.NewNop()
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Anchors{logger: logger, clock: clk, ready: make(chan struct{})}
}

// Current returns the PEM of the trust anchors, nil before the first load.
// The slice must not be modified.
func (a *Anchors) Current() []byte {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.pem
}

// Ready is closed once the first valid anchors are loaded.
func (a *Anchors) Ready() <-chan struct{} { return a.ready }

// Subscribe returns a channel that receives a value after every change of
// the anchors (coalesced: a slow reader sees one value for many changes).
func (a *Anchors) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	a.mu.Lock()
	a.subs = append(a.subs, ch)
	a.mu.Unlock()
	return ch
}

// Set validates raw and makes it the current anchors. It reports whether
// they changed; invalid anchors leave the current ones in place.
func (a *Anchors) Set(raw []byte) (bool, error) {
	if err := ValidateAnchors(raw); err != nil {
		return false, err
	}
	a.mu.Lock()
	if bytes.Equal(raw, a.pem) {
		a.mu.Unlock()
		return false, nil
	}
	first := a.pem == nil
	a.pem = bytes.Clone(raw)
	subs := a.subs
	a.mu.Unlock()
	if first {
		close(a.ready)
	}
	for _, ch := range subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return true, nil
}

// ValidateAnchors checks that raw is a non-empty PEM list of CA
// certificates and nothing else.
func ValidateAnchors(raw []byte) error {
	n := 0
	for rest := raw; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				return fmt.Errorf("%w: text after certificate %d", ErrInvalidAnchors, n)
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("%w: PEM block %d has type %q", ErrInvalidAnchors, n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fmt.Errorf("%w: certificate %d: %w", ErrInvalidAnchors, n, err)
		}
		if !c.IsCA {
			return fmt.Errorf("%w: certificate %d (%q) is not a CA", ErrInvalidAnchors, n, c.Subject)
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: no PEM certificate", ErrInvalidAnchors)
	}
	return nil
}

// update applies raw read from source, logging what happened.
func (a *Anchors) update(raw []byte, source string) {
	changed, err := a.Set(raw)
	switch {
	case err != nil:
		a.logger.Warn("Keeping current trust anchors; the new ones are invalid", zap.String("source", source), zap.Error(err))
	case changed:
		a.logger.Info("Trust anchors loaded", zap.String("source", source))
	}
}

// LoadFile reads path once into a; it fails when the file is missing or
// invalid.
func (a *Anchors) LoadFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read trust anchors: %w", err)
	}
	if _, err := a.Set(raw); err != nil {
		return fmt.Errorf("trust anchors file %s: %w", path, err)
	}
	return nil
}

// WatchFile reloads path on every change in its directory (a mounted
// ConfigMap is updated by swapping a symlink) and every minute, until ctx
// is done. A file that cannot be read or parsed keeps the current anchors.
func (a *Anchors) WatchFile(ctx context.Context, path string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch trust anchors: %w", err)
	}
	defer func() { _ = w.Close() }()
	if err := w.Add(filepath.Dir(path)); err != nil {
		return fmt.Errorf("watch trust anchors directory %s: %w", filepath.Dir(path), err)
	}
	reload := func() {
		raw, err := os.ReadFile(path)
		if err != nil {
			a.logger.Warn("Keeping current trust anchors; cannot read the file", zap.String(log.KeyFile, path), zap.Error(err))
			return
		}
		a.update(raw, path)
	}
	reload()
	tick := a.clock.NewTicker(anchorsResync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			a.logger.Warn("Trust anchors watch error", zap.String(log.KeyFile, path), zap.Error(err))
		case _, ok := <-w.Events:
			if !ok {
				return nil
			}
			reload()
		case <-tick.C():
			reload()
		}
	}
}

// WatchConfigMap follows key of the ConfigMap namespace/name through an
// informer restricted to that object, until ctx is done. It needs get, list
// and watch on that ConfigMap (restricted by resourceNames).
func (a *Anchors) WatchConfigMap(ctx context.Context, client kubernetes.Interface, namespace, name, key string) error {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	inf := f.Core().V1().ConfigMaps().Informer()
	source := "configmap " + namespace + "/" + name
	apply := func(obj any) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return
		}
		v, ok := cm.Data[key]
		if !ok {
			a.logger.Warn("Trust anchors ConfigMap has no anchors key; keeping current anchors",
				zap.String("source", source), zap.String("key", key))
			return
		}
		a.update([]byte(v), source)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    apply,
		UpdateFunc: func(_, obj any) { apply(obj) },
		DeleteFunc: func(any) {
			a.logger.Warn("Trust anchors ConfigMap deleted; keeping current anchors", zap.String("source", source))
		},
	}); err != nil {
		return fmt.Errorf("watch %s: %w", source, err)
	}
	if err := inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		a.logger.Warn("Watching the trust anchors ConfigMap failed; retrying", zap.String("source", source), zap.Error(err))
	}); err != nil {
		return fmt.Errorf("watch %s: %w", source, err)
	}
	inf.Run(ctx.Done())
	return nil
}

// MirrorToFile writes the anchors to path (atomically, by rename) now,
// closes written, and writes them again after every change until ctx is
// done. It lets a component that reads a file (the Sentry client) follow
// anchors read from the API server.
func (a *Anchors) MirrorToFile(ctx context.Context, path string, written chan<- struct{}) error {
	changed := a.Subscribe()
	write := func() error {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, a.Current(), 0o600); err != nil {
			return fmt.Errorf("write trust anchors copy: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write trust anchors copy: %w", err)
		}
		return nil
	}
	if err := write(); err != nil {
		return err
	}
	close(written)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			if err := write(); err != nil {
				a.logger.Error("Cannot update the trust anchors copy", zap.String(log.KeyFile, path), zap.Error(err))
			}
		}
	}
}
