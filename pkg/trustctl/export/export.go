package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// File names and modes of an export.
const (
	RootsFile  = "ca.crt"
	IssuerFile = "issuer.crt"
	KeyFile    = "issuer.key"
	CertMode   = 0o644
	KeyMode    = 0o600
	DirMode    = 0o755
)

// ErrExists means a target file exists and Force was not set.
var ErrExists = errors.New("file exists")

// Options configures Write.
type Options struct {
	// IncludeKey writes issuer.key too (trustctl's default, as Dapr's).
	IncludeKey bool
	// Force replaces existing files (trustctl's default, as Dapr's).
	Force bool
}

// Write writes b into dir (created 0755 when absent) and returns the paths
// written, in order.
func Write(dir string, b *bundle.Bundle, opts Options) ([]string, error) {
	if b == nil {
		return nil, errors.New("export trust bundle: no bundle")
	}
	type file struct {
		name string
		data []byte
		mode os.FileMode
	}
	files := []file{{RootsFile, b.RootsPEM, CertMode}, {IssuerFile, b.IssuerChainPEM, CertMode}}
	if opts.IncludeKey {
		files = append(files, file{KeyFile, b.IssuerKeyPEM, KeyMode})
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return nil, fmt.Errorf("export trust bundle: create directory: %w", err)
	}
	if !opts.Force {
		var exist []error
		for _, f := range files {
			p := filepath.Join(dir, f.name)
			if _, err := os.Lstat(p); err == nil {
				exist = append(exist, fmt.Errorf("%w: %s", ErrExists, p))
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("export trust bundle: %w", err)
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("export trust bundle: refusing to overwrite (--no-clobber): %w", errors.Join(exist...))
		}
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := writeFile(p, f.data, f.mode); err != nil {
			return written, fmt.Errorf("export trust bundle: %w", err)
		}
		written = append(written, p)
	}
	return written, nil
}

// writeFile writes data to a temporary file in path's directory with mode,
// then renames it to path, so a reader never sees half a file and a key is
// never readable by others, even for a moment.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
