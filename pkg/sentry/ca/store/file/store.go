package file

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

// Default file names, as Dapr names them.
const (
	DefaultRootFile   = "ca.crt"
	DefaultIssuerFile = "issuer.crt"
	DefaultKeyFile    = "issuer.key"
)

// DefaultDebounce is how long Watch waits after the last file event before
// it reloads.
const DefaultDebounce = 200 * time.Millisecond

// Errors callers branch on.
var (
	// ErrNotFound means none of the three files holds anything: a bundle
	// may be generated. It is bundle.ErrNotFound.
	ErrNotFound = bundle.ErrNotFound
	// ErrExists means Save found a file in its way. It is bundle.ErrExists.
	ErrExists = bundle.ErrExists
	// ErrIncomplete is what every *PartialError matches with errors.Is.
	ErrIncomplete = bundle.ErrIncomplete
)

// Options configures New.
type Options struct {
	// Dir is the directory of the three files. Required unless all three
	// names are absolute.
	Dir string
	// RootFile, IssuerFile and KeyFile name the files, relative to Dir
	// unless absolute. Defaults ca.crt, issuer.crt and issuer.key.
	RootFile, IssuerFile, KeyFile string
	// Debounce is how long Watch waits for file events to settle before it
	// reloads. Default DefaultDebounce.
	Debounce time.Duration
	// Clock times the debounce. Default: the real clock.
	Clock clock.Clock
	// JWT, when set, adds the JWT-SVID signing key and key set to the
	// files the store loads, saves and watches. Default: off.
	JWT *JWTOptions
	// Logger receives the store's logs. Default: none.
	Logger *zap.Logger
}

// Store is a trust bundle kept in files. It is safe for concurrent use.
type Store struct {
	paths    [3]string // in bundle part order: roots, issuer, key
	jwtPaths [2]string // jwt.key, jwks.json; empty when JWT is off
	jwtParse jwt.ParseOptions
	debounce time.Duration
	clock    clock.Clock
	log      *zap.Logger
	// last is the last bundle loaded or saved; Watch reports only changes
	// from it.
	last atomic.Pointer[bundle.Bundle]
	// watching, when set, is called once Watch watches every directory
	// (for tests).
	watching func()
}

// New returns a store for the files opts names. It touches no file.
func New(opts Options) (*Store, error) {
	names := [3]string{opts.RootFile, opts.IssuerFile, opts.KeyFile}
	defaults := [3]string{DefaultRootFile, DefaultIssuerFile, DefaultKeyFile}
	s := &Store{debounce: opts.Debounce, clock: opts.Clock, log: opts.Logger}
	for i, n := range names {
		if n == "" {
			n = defaults[i]
		}
		if !filepath.IsAbs(n) {
			if opts.Dir == "" {
				return nil, fmt.Errorf("trust bundle store: %q is relative but no directory is set", n)
			}
			n = filepath.Join(opts.Dir, n)
		}
		s.paths[i] = filepath.Clean(n)
	}
	if s.paths[0] == s.paths[1] || s.paths[0] == s.paths[2] || s.paths[1] == s.paths[2] {
		return nil, fmt.Errorf("trust bundle store: the roots, issuer and key files must differ: %s", strings.Join(s.paths[:], ", "))
	}
	if err := s.resolveJWT(opts.Dir, opts.JWT); err != nil {
		return nil, err
	}
	if s.debounce <= 0 {
		s.debounce = DefaultDebounce
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	return s, nil
}

// Paths returns the paths of the roots, issuer and key files.
func (s *Store) Paths() (roots, issuer, key string) { return s.paths[0], s.paths[1], s.paths[2] }

// PartialError means some of the files hold something and others do not.
// Sentry must not generate a CA then: it would replace what a user put there.
type PartialError struct {
	// Missing are the paths that do not exist.
	Missing []string
	// Empty are the paths that exist but hold nothing but white space.
	Empty []string
	// Present are the paths that hold something.
	Present []string
}

// Error names the missing and empty files and what to do.
func (e *PartialError) Error() string {
	var parts []string
	for _, p := range e.Missing {
		parts = append(parts, p+" is missing")
	}
	for _, p := range e.Empty {
		parts = append(parts, p+" is empty")
	}
	absent := append(append([]string(nil), e.Missing...), e.Empty...)
	return fmt.Sprintf("%s: %s (%s present); refusing to generate a new CA over existing files; restore %s or remove all three",
		ErrIncomplete, strings.Join(parts, ", "), strings.Join(e.Present, ", "), strings.Join(absent, " and "))
}

// Is matches ErrIncomplete.
func (e *PartialError) Is(target error) bool { return target == ErrIncomplete }

// Load reads and parses the three files. It returns an error wrapping
// ErrNotFound when none of them holds anything, a *PartialError when only
// some do, and an error naming the file at fault (wrapping a *bundle.Error)
// when they do not make a valid bundle. Load does not check validity
// periods: see bundle.Verify.
//
// With JWT on, a valid bundle also carries the JWT material when both JWT
// files hold something (nil when neither does: see SaveJWT); one without
// the other is an error wrapping ErrIncomplete, and a pair that does not
// belong together an error naming the file at fault (wrapping a *jwt.Error).
func (s *Store) Load() (*bundle.Bundle, error) {
	var (
		data    [3][]byte
		partial PartialError
	)
	for i, p := range s.paths {
		d, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			partial.Missing = append(partial.Missing, p)
		case err != nil:
			return nil, fmt.Errorf("read trust bundle file: %w", err)
		case len(bytes.TrimSpace(d)) == 0:
			partial.Empty = append(partial.Empty, p)
		default:
			partial.Present = append(partial.Present, p)
			data[i] = d
		}
	}
	if len(partial.Present) == 0 {
		return nil, fmt.Errorf("%w: no %s, %s or %s with content", ErrNotFound, s.paths[0], s.paths[1], s.paths[2])
	}
	if len(partial.Present) < len(s.paths) {
		return nil, &partial
	}
	b, err := bundle.Parse(data[0], data[1], data[2])
	if err != nil {
		return nil, fmt.Errorf("trust bundle file %s: %w", s.pathOf(err), err)
	}
	m, err := s.loadJWT()
	if err != nil {
		return nil, err
	}
	if m != nil {
		b = b.WithJWT(m)
	}
	s.last.Store(b)
	return b, nil
}

// pathOf returns the path of the file a bundle error is about.
func (s *Store) pathOf(err error) string {
	var be *bundle.Error
	if errors.As(err, &be) {
		switch be.Part {
		case bundle.PartIssuer:
			return s.paths[1]
		case bundle.PartKey:
			return s.paths[2]
		case bundle.PartRoots:
			return s.paths[0]
		}
	}
	return strings.Join(s.paths[:], ", ")
}
