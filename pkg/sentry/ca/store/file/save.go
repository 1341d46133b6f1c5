package file

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"go.uber.org/zap"

	tplog "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// fileMode is the mode of every file Save writes.
const fileMode fs.FileMode = 0o600

// Save writes a newly generated bundle: the roots, the issuer chain and the
// issuer key (and, with JWT on and b.JWT set, the JWT signing key and key
// set), each atomically (a temporary file in the same directory, synced,
// then linked into place) with mode 0600. Missing directories are made with
// mode 0700.
//
// Save never overwrites: if any of the files holds something it returns an
// error wrapping ErrExists and writes nothing. A file that exists but holds
// only white space (an unfilled mount) is replaced. If a write fails
// half-way, the files this call created are removed again.
func (s *Store) Save(b *bundle.Bundle) error {
	if b == nil || len(b.RootsPEM) == 0 || len(b.IssuerChainPEM) == 0 || len(b.IssuerKeyPEM) == 0 {
		return errors.New("save trust bundle: the bundle has no roots, issuer or key to write")
	}
	paths := s.paths[:]
	contents := [][]byte{b.RootsPEM, b.IssuerChainPEM, b.IssuerKeyPEM}
	if b.JWT != nil && s.jwtPaths[0] != "" {
		paths = s.allPaths()
		contents = append(contents, b.JWT.KeyPEM, b.JWT.JWKSJSON)
	}
	if err := s.writeAll(paths, contents); err != nil {
		return fmt.Errorf("save trust bundle: %w", err)
	}
	if s.jwtPaths[0] == "" || len(paths) == len(s.paths) {
		b = b.WithJWT(nil)
	}
	s.last.Store(b)
	return nil
}

// writeAll writes contents[i] to paths[i], all or nothing, never over a
// file that holds something. Every file is first written to a temporary
// file beside it and synced — the syncs run in parallel, so a new bundle
// costs about one disk flush instead of three — then linked into place in
// order, and each directory is synced once.
func (s *Store) writeAll(paths []string, contents [][]byte) error {
	replace := make([]bool, len(paths))
	for i, p := range paths {
		empty, err := emptyOrMissing(p)
		if err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("%w: %s holds data; refusing to overwrite it", ErrExists, p)
		}
		_, err = os.Lstat(p)
		replace[i] = err == nil
	}

	tmps := make([]string, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tmps[i], errs[i] = stage(paths[i], contents[i])
		}()
	}
	wg.Wait()
	defer func() {
		for _, t := range tmps {
			if t == "" {
				continue
			}
			if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Error("Could not remove a temporary trust bundle file", zap.String(tplog.KeyFile, t), zap.Error(err))
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	var written []string
	undo := func() {
		for _, w := range written {
			if rmErr := os.Remove(w); rmErr != nil {
				s.log.Error("Could not remove a half-saved trust bundle file", zap.String(tplog.KeyFile, w), zap.Error(rmErr))
			}
		}
	}
	dirs := map[string]bool{}
	for i, p := range paths {
		if err := commit(tmps[i], p, replace[i]); err != nil {
			undo()
			return err
		}
		written = append(written, p)
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			undo()
			return err
		}
	}
	for _, p := range written {
		s.log.Info("Wrote trust bundle file", zap.String(tplog.KeyFile, p))
	}
	return nil
}

// emptyOrMissing reports whether path does not exist or is a regular file
// holding only white space.
func emptyOrMissing(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		return false, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	return len(bytes.TrimSpace(data)) == 0, nil
}

// stage writes data to a synced temporary file, mode 0600, in path's
// directory (made with mode 0700 if missing) and returns its name.
func stage(path string, data []byte) (name string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("make directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(fileMode); err != nil {
		return "", fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	return tmp.Name(), nil
}

// commit puts the staged file tmp at path. Unless replaceEmpty is set, it
// is hard-linked into place, which fails if path exists by then; otherwise
// path must still be empty right before the rename over it.
func commit(tmp, path string, replaceEmpty bool) error {
	if replaceEmpty {
		if empty, err := emptyOrMissing(path); err != nil || !empty {
			return fmt.Errorf("%w: %s was filled meanwhile; refusing to overwrite it", ErrExists, path)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename into %s: %w", path, err)
		}
		return nil
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s appeared meanwhile; refusing to overwrite it", ErrExists, path)
		}
		return fmt.Errorf("link into %s: %w", path, err)
	}
	return nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
