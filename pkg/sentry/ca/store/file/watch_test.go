package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/ca/store/file"
	"github.com/trustplane/trustplane/test/testca"
)

const (
	debounce = 50 * time.Millisecond
	// quiet is how long a test waits to be sure nothing more is reported.
	quiet   = 6 * debounce
	timeout = 10 * time.Second
)

// watchRun is a Watch running in the background.
type watchRun struct {
	changes chan *bundle.Bundle
	errs    chan error
	done    chan error
	cancel  context.CancelFunc
}

// startWatch runs s.Watch until the test ends and returns once the
// directories are watched.
func startWatch(t *testing.T, s *file.Store) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w := &watchRun{
		changes: make(chan *bundle.Bundle, 16),
		errs:    make(chan error, 16),
		done:    make(chan error, 1),
		cancel:  cancel,
	}
	ready := make(chan struct{})
	file.SetWatching(s, func() { close(ready) })
	go func() {
		w.done <- s.Watch(ctx, func(b *bundle.Bundle) { w.changes <- b }, func(err error) { w.errs <- err })
	}()
	select {
	case <-ready:
	case err := <-w.done:
		cancel()
		t.Fatalf("Watch returned early: %v", err)
	case <-time.After(timeout):
		cancel()
		t.Fatal("Watch did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(timeout):
			t.Error("Watch did not return after cancel")
		}
	})
	return w
}

func (w *watchRun) nextChange(t *testing.T) *bundle.Bundle {
	t.Helper()
	select {
	case b := <-w.changes:
		return b
	case err := <-w.errs:
		t.Fatalf("onError instead of onChange: %v", err)
	case <-time.After(timeout):
		t.Fatal("no onChange")
	}
	return nil
}

func (w *watchRun) nextError(t *testing.T) error {
	t.Helper()
	select {
	case b := <-w.changes:
		t.Fatalf("onChange with issuer %s instead of onError", b.Issuer().Subject)
	case err := <-w.errs:
		return err
	case <-time.After(timeout):
		t.Fatal("no onError")
	}
	return nil
}

func (w *watchRun) nothingMore(t *testing.T) {
	t.Helper()
	select {
	case b := <-w.changes:
		t.Fatalf("unexpected onChange with issuer %s", b.Issuer().Subject)
	case err := <-w.errs:
		t.Fatalf("unexpected onError: %v", err)
	case <-time.After(quiet):
	}
}

// loadedStore writes a bundle of root and issuer to dir and loads it.
func loadedStore(t *testing.T, dir string, root, issuer *testca.CA) *file.Store {
	t.Helper()
	writeBundle(t, dir, root, issuer)
	s := newStore(t, file.Options{Dir: dir, Debounce: debounce})
	_, err := s.Load()
	require.NoError(t, err)
	return s
}

func TestWatchDeliversANewIssuerRenamedIntoPlace(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	s := loadedStore(t, dir, root, newCA(t, root))
	w := startWatch(t, s)

	next := newCA(t, root)
	renameInto(t, filepath.Join(dir, "issuer.key"), next.KeyPEM(t))
	renameInto(t, filepath.Join(dir, "issuer.crt"), next.CertPEM())

	b := w.nextChange(t)
	assert.Equal(t, next.Cert.Raw, b.Issuer().Raw)
	assert.Equal(t, root.Cert.Raw, b.Roots[0].Raw)
	w.nothingMore(t)
}

func TestWatchDeliversAnIssuerWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	s := loadedStore(t, dir, root, newCA(t, root))
	w := startWatch(t, s)

	next := newCA(t, root)
	writeFile(t, filepath.Join(dir, "issuer.crt"), next.CertPEM())
	writeFile(t, filepath.Join(dir, "issuer.key"), next.KeyPEM(t))
	assert.Equal(t, next.Cert.Raw, w.nextChange(t).Issuer().Raw)
}

func TestWatchReportsAnInvalidReplacementAndKeepsQuiet(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	s := loadedStore(t, dir, root, newCA(t, root))
	w := startWatch(t, s)

	stranger := newCA(t, root)
	renameInto(t, filepath.Join(dir, "issuer.key"), stranger.KeyPEM(t))
	err := w.nextError(t)
	assert.ErrorIs(t, err, bundle.ErrKeyMismatch)
	assert.ErrorContains(t, err, filepath.Join(dir, "issuer.key"))
	w.nothingMore(t)

	// Putting the matching certificate beside the key makes it valid again.
	renameInto(t, filepath.Join(dir, "issuer.crt"), stranger.CertPEM())
	assert.Equal(t, stranger.Cert.Raw, w.nextChange(t).Issuer().Raw)
}

func TestWatchReportsAPartialSet(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	s := loadedStore(t, dir, root, newCA(t, root))
	w := startWatch(t, s)

	require.NoError(t, os.Remove(filepath.Join(dir, "issuer.key")))
	err := w.nextError(t)
	var pe *file.PartialError
	require.True(t, errors.As(err, &pe), "a *PartialError, got %v", err)
	assert.Equal(t, []string{filepath.Join(dir, "issuer.key")}, pe.Missing)
	w.nothingMore(t)
}

func TestWatchIgnoresFilesRewrittenUnchanged(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	issuer := newCA(t, root)
	s := loadedStore(t, dir, root, issuer)
	w := startWatch(t, s)

	writeBundle(t, dir, root, issuer)
	writeFile(t, filepath.Join(dir, "unrelated.txt"), []byte("x"))
	w.nothingMore(t)

	next := newCA(t, root)
	renameInto(t, filepath.Join(dir, "issuer.key"), next.KeyPEM(t))
	renameInto(t, filepath.Join(dir, "issuer.crt"), next.CertPEM())
	assert.Equal(t, next.Cert.Raw, w.nextChange(t).Issuer().Raw)
}

func TestWatchReloadsABurstOnce(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	s := loadedStore(t, dir, root, newCA(t, root))
	w := startWatch(t, s)

	// Each file is replaced atomically, as a careful writer does: a write
	// that truncates first can be read empty when the machine is slow, and
	// that is another test's case (a partial bundle is refused).
	var last *testca.CA
	for range 3 {
		last = newCA(t, root)
		renameInto(t, filepath.Join(dir, "issuer.crt"), last.CertPEM())
		renameInto(t, filepath.Join(dir, "issuer.key"), last.KeyPEM(t))
	}
	assert.Equal(t, last.Cert.Raw, w.nextChange(t).Issuer().Raw)
	w.nothingMore(t)
}

// TestWatchFollowsAKubeletSymlinkSwap lays the files out as the kubelet
// mounts a Secret: name -> ..data/name, ..data -> ..<timestamp>, and
// updates them by swapping ..data.
func TestWatchFollowsAKubeletSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	version := func(name string, issuer *testca.CA) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o755))
		writeBundle(t, filepath.Join(dir, name), root, issuer)
	}
	version("..2026_01_01_00_00_00.1", newCA(t, root))
	require.NoError(t, os.Symlink("..2026_01_01_00_00_00.1", filepath.Join(dir, "..data")))
	for _, n := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		require.NoError(t, os.Symlink(filepath.Join("..data", n), filepath.Join(dir, n)))
	}
	s := newStore(t, file.Options{Dir: dir, Debounce: debounce})
	_, err := s.Load()
	require.NoError(t, err)
	w := startWatch(t, s)

	next := newCA(t, root)
	version("..2026_02_01_00_00_00.2", next)
	require.NoError(t, os.Symlink("..2026_02_01_00_00_00.2", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_00_00.1")))

	assert.Equal(t, next.Cert.Raw, w.nextChange(t).Issuer().Raw)
}

func TestWatchReturnsNilWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	root := newCA(t, nil)
	w := startWatch(t, loadedStore(t, dir, root, newCA(t, root)))
	w.cancel()
	select {
	case err := <-w.done:
		require.NoError(t, err)
		w.done <- err // for the cleanup
	case <-time.After(timeout):
		t.Fatal("Watch did not return")
	}
}

func TestWatchFailsWithoutTheDirectory(t *testing.T) {
	s := newStore(t, file.Options{Dir: filepath.Join(t.TempDir(), "absent")})
	err := s.Watch(t.Context(), func(*bundle.Bundle) {}, func(error) {})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "absent")
}
