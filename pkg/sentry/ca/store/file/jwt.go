package file

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

// Default JWT file names, as Dapr names them.
const (
	DefaultJWTKeyFile = "jwt.key"
	DefaultJWKSFile   = "jwks.json"
)

// JWTOptions turns on the two JWT-SVID files beside the X.509 ones.
type JWTOptions struct {
	// KeyFile and JWKSFile name the signing key and the key set, relative to
	// Options.Dir unless absolute. Defaults jwt.key and jwks.json.
	KeyFile, JWKSFile string
	// Parse is the key ID and algorithm the material must have.
	Parse jwt.ParseOptions
}

// JWTPaths returns the paths of the JWT signing key and key set; empty when
// JWT is off.
func (s *Store) JWTPaths() (key, jwks string) { return s.jwtPaths[0], s.jwtPaths[1] }

// resolveJWT fills s.jwtPaths from opts.
func (s *Store) resolveJWT(dir string, opts *JWTOptions) error {
	if opts == nil {
		return nil
	}
	names := [2]string{opts.KeyFile, opts.JWKSFile}
	defaults := [2]string{DefaultJWTKeyFile, DefaultJWKSFile}
	for i, n := range names {
		if n == "" {
			n = defaults[i]
		}
		if !filepath.IsAbs(n) {
			if dir == "" {
				return fmt.Errorf("trust bundle store: %q is relative but no directory is set", n)
			}
			n = filepath.Join(dir, n)
		}
		s.jwtPaths[i] = filepath.Clean(n)
	}
	s.jwtParse = opts.Parse
	seen := map[string]bool{}
	for _, p := range s.allPaths() {
		if seen[p] {
			return fmt.Errorf("trust bundle store: every file must differ, %s is named twice", p)
		}
		seen[p] = true
	}
	return nil
}

// allPaths returns the X.509 paths, then the JWT ones when JWT is on.
func (s *Store) allPaths() []string {
	paths := append([]string(nil), s.paths[:]...)
	if s.jwtPaths[0] != "" {
		paths = append(paths, s.jwtPaths[:]...)
	}
	return paths
}

// loadJWT reads the JWT material: nil when JWT is off or both files are
// absent or empty (one may be generated), an error wrapping ErrIncomplete
// when only one of them holds something, and an error naming the file at
// fault when they do not belong together.
func (s *Store) loadJWT() (*jwt.Material, error) {
	if s.jwtPaths[0] == "" {
		return nil, nil
	}
	var (
		data             [2][]byte
		present, missing []string
	)
	for i, p := range s.jwtPaths {
		d, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, p+" is missing")
		case err != nil:
			return nil, fmt.Errorf("read JWT file: %w", err)
		case len(bytes.TrimSpace(d)) == 0:
			missing = append(missing, p+" is empty")
		default:
			present = append(present, p)
			data[i] = d
		}
	}
	switch len(present) {
	case 0:
		return nil, nil
	case 1:
		return nil, fmt.Errorf("%w: %s but %s; refusing to generate a JWT signing key over it; restore the other file, or remove %s to let Sentry generate both",
			ErrIncomplete, missing[0], present[0]+" holds data", present[0])
	}
	m, err := jwt.ParseMaterial(data[0], data[1], s.jwtParse)
	if err != nil {
		path := s.jwtPaths[1]
		var je *jwt.Error
		if errors.As(err, &je) && je.Part == jwt.PartKey {
			path = s.jwtPaths[0]
		}
		return nil, fmt.Errorf("trust bundle file %s: %w", path, err)
	}
	return m, nil
}

// SaveJWT writes newly generated JWT material beside a stored bundle, with
// Save's rules: atomically, mode 0600, and never over a file holding
// something (an error wrapping ErrExists, nothing written).
func (s *Store) SaveJWT(m *jwt.Material) error {
	if s.jwtPaths[0] == "" {
		return errors.New("save JWT material: JWT is not enabled on this store")
	}
	if m == nil || len(m.KeyPEM) == 0 || len(m.JWKSJSON) == 0 {
		return errors.New("save JWT material: no key or key set to write")
	}
	if err := s.writeAll(s.jwtPaths[:], [][]byte{m.KeyPEM, m.JWKSJSON}); err != nil {
		return fmt.Errorf("save JWT material: %w", err)
	}
	if last := s.last.Load(); last != nil {
		s.last.Store(last.WithJWT(m))
	}
	return nil
}
