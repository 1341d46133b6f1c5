package file_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/ca/store/file"
)

func generate(t testing.TB) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Generate(bundle.GenerateOptions{
		TrustDomain: spiffeid.RequireTrustDomainFromString("cluster.local"),
		Namespace:   "dapr-system",
		Now:         time.Now(),
	})
	require.NoError(t, err)
	return b
}

func newStore(t testing.TB, opts file.Options) *file.Store {
	t.Helper()
	s, err := file.New(opts)
	require.NoError(t, err)
	return s
}

func TestNewResolvesPaths(t *testing.T) {
	tests := map[string]struct {
		opts               file.Options
		roots, issuer, key string
		wantErr            string
	}{
		"the default names sit in the directory": {
			opts:  file.Options{Dir: "/creds"},
			roots: "/creds/ca.crt", issuer: "/creds/issuer.crt", key: "/creds/issuer.key",
		},
		"relative names are joined to the directory": {
			opts:  file.Options{Dir: "/creds", RootFile: "trust/anchors.pem", IssuerFile: "i.pem", KeyFile: "i.key"},
			roots: "/creds/trust/anchors.pem", issuer: "/creds/i.pem", key: "/creds/i.key",
		},
		"an absolute name overrides the directory": {
			opts:  file.Options{Dir: "/creds", RootFile: "/etc/trust/ca.crt"},
			roots: "/etc/trust/ca.crt", issuer: "/creds/issuer.crt", key: "/creds/issuer.key",
		},
		"three absolute names need no directory": {
			opts:  file.Options{RootFile: "/a/ca.crt", IssuerFile: "/b/issuer.crt", KeyFile: "/b/issuer.key"},
			roots: "/a/ca.crt", issuer: "/b/issuer.crt", key: "/b/issuer.key",
		},
		"a relative name without a directory is refused": {
			opts:    file.Options{RootFile: "/a/ca.crt", IssuerFile: "/b/issuer.crt"},
			wantErr: `"issuer.key" is relative but no directory is set`,
		},
		"two parts in one file are refused": {
			opts:    file.Options{Dir: "/creds", IssuerFile: "bundle.pem", KeyFile: "bundle.pem"},
			wantErr: "must differ",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := file.New(tc.opts)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			roots, issuer, key := s.Paths()
			assert.Equal(t, tc.roots, roots)
			assert.Equal(t, tc.issuer, issuer)
			assert.Equal(t, tc.key, key)
		})
	}
}

func TestSaveThenLoadRoundTrips(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "credentials")
	s := newStore(t, file.Options{Dir: dir})
	b := generate(t)

	_, err := s.Load()
	require.ErrorIs(t, err, file.ErrNotFound, "nothing stored yet, not even the directory")
	require.NoError(t, s.Save(b))

	got, err := s.Load()
	require.NoError(t, err)
	assert.True(t, got.Equal(b))
	assert.Equal(t, b.IssuerKeyPEM, got.IssuerKeyPEM)
	require.NoError(t, got.Verify(time.Now()))

	want := map[string][]byte{"ca.crt": b.RootsPEM, "issuer.crt": b.IssuerChainPEM, "issuer.key": b.IssuerKeyPEM}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 3, "no temporary file left behind")
	for name, data := range want {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
		stored, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, data, stored, name)
	}
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm(), "a made directory is private")
}

func TestSaveNeverOverwrites(t *testing.T) {
	for _, present := range [][]string{{"ca.crt"}, {"issuer.crt"}, {"issuer.key"}, {"ca.crt", "issuer.crt", "issuer.key"}} {
		t.Run("an existing "+strings.Join(present, " and ")+" stops the save", func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range present {
				writeFile(t, filepath.Join(dir, name), []byte("the user's "+name))
			}
			s := newStore(t, file.Options{Dir: dir})
			err := s.Save(generate(t))
			require.ErrorIs(t, err, file.ErrExists)
			assert.ErrorContains(t, err, filepath.Join(dir, present[0]))

			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, len(present), "nothing else was written")
			for _, name := range present {
				data, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err)
				assert.Equal(t, "the user's "+name, string(data))
			}
		})
	}
}

func TestSaveRefusesASymlinkInTheWay(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "issuer.key")))
	err := newStore(t, file.Options{Dir: dir}).Save(generate(t))
	require.ErrorIs(t, err, file.ErrExists)
	_, err = os.Stat(filepath.Join(dir, "nowhere"))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing written through the link")
}

func TestSaveFillsEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
		writeFile(t, filepath.Join(dir, name), []byte("\n"))
	}
	s := newStore(t, file.Options{Dir: dir})
	_, err := s.Load()
	require.ErrorIs(t, err, file.ErrNotFound, "empty files hold no bundle")
	b := generate(t)
	require.NoError(t, s.Save(b))
	got, err := s.Load()
	require.NoError(t, err)
	assert.True(t, got.Equal(b))
	fi, err := os.Stat(filepath.Join(dir, "issuer.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestSaveRefusesAnEmptyBundle(t *testing.T) {
	s := newStore(t, file.Options{Dir: t.TempDir()})
	require.Error(t, s.Save(nil))
	require.Error(t, s.Save(&bundle.Bundle{}))
}

func TestLoadPartialSets(t *testing.T) {
	root := newCA(t, nil)
	issuer := newCA(t, root)
	content := map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": issuer.CertPEM(), "issuer.key": issuer.KeyPEM(t)}
	tests := map[string]struct {
		present, empty []string
		missing        []string
	}{
		"only ca.crt":                         {present: []string{"ca.crt"}, missing: []string{"issuer.crt", "issuer.key"}},
		"only issuer.crt":                     {present: []string{"issuer.crt"}, missing: []string{"ca.crt", "issuer.key"}},
		"only issuer.key":                     {present: []string{"issuer.key"}, missing: []string{"ca.crt", "issuer.crt"}},
		"ca.crt and issuer.crt":               {present: []string{"ca.crt", "issuer.crt"}, missing: []string{"issuer.key"}},
		"ca.crt and issuer.key":               {present: []string{"ca.crt", "issuer.key"}, missing: []string{"issuer.crt"}},
		"issuer.crt and issuer.key":           {present: []string{"issuer.crt", "issuer.key"}, missing: []string{"ca.crt"}},
		"an empty issuer.key beside the rest": {present: []string{"ca.crt", "issuer.crt"}, empty: []string{"issuer.key"}},
	}
	for name, tc := range tests {
		t.Run("a set of "+name+" is refused, naming what is absent", func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.present {
				writeFile(t, filepath.Join(dir, f), content[f])
			}
			for _, f := range tc.empty {
				writeFile(t, filepath.Join(dir, f), nil)
			}
			_, err := newStore(t, file.Options{Dir: dir}).Load()
			require.Error(t, err)
			assert.NotErrorIs(t, err, file.ErrNotFound, "a partial set must never lead to a new CA")
			assert.ErrorIs(t, err, file.ErrIncomplete)
			var pe *file.PartialError
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, paths(dir, tc.missing), pe.Missing)
			assert.Equal(t, paths(dir, tc.empty), pe.Empty)
			assert.Equal(t, paths(dir, tc.present), pe.Present)
			absent := paths(dir, append(append([]string(nil), tc.missing...), tc.empty...))
			assert.Contains(t, err.Error(), "refusing to generate a new CA over existing files; restore "+strings.Join(absent, " and ")+" or remove all three")
		})
	}
}

func paths(dir string, names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(dir, n))
	}
	return out
}

func TestLoadNamesTheFileAtFault(t *testing.T) {
	root := newCA(t, nil)
	issuer := newCA(t, root)
	stranger := newCA(t, newCA(t, nil))
	tests := map[string]struct {
		file string
		data []byte
		part bundle.Part
		is   error
	}{
		"a garbage ca.crt is named": {
			file: "ca.crt", data: []byte("not a certificate"), part: bundle.PartRoots, is: bundle.ErrMalformed,
		},
		"a garbage issuer.crt is named": {
			file: "issuer.crt", data: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), part: bundle.PartIssuer, is: bundle.ErrMalformed,
		},
		"an issuer of another root is named": {
			file: "issuer.crt", data: stranger.CertPEM(), part: bundle.PartIssuer, is: bundle.ErrNotChained,
		},
		"a key of another issuer is named": {
			file: "issuer.key", data: stranger.KeyPEM(t), part: bundle.PartKey, is: bundle.ErrKeyMismatch,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeBundle(t, dir, root, issuer)
			writeFile(t, filepath.Join(dir, tc.file), tc.data)
			_, err := newStore(t, file.Options{Dir: dir}).Load()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "trust bundle file "+filepath.Join(dir, tc.file)+": "+string(tc.part)+": ")
			var be *bundle.Error
			require.True(t, errors.As(err, &be))
			assert.Equal(t, tc.part, be.Part)
			assert.ErrorIs(t, err, tc.is)
		})
	}
}

func TestLoadFollowsAbsoluteNames(t *testing.T) {
	creds, trust := t.TempDir(), t.TempDir()
	root := newCA(t, nil)
	issuer := newCA(t, root)
	writeFile(t, filepath.Join(trust, "anchors.pem"), root.CertPEM())
	writeFile(t, filepath.Join(creds, "issuer.crt"), issuer.CertPEM())
	writeFile(t, filepath.Join(creds, "issuer.key"), issuer.KeyPEM(t))
	b, err := newStore(t, file.Options{Dir: creds, RootFile: filepath.Join(trust, "anchors.pem")}).Load()
	require.NoError(t, err)
	assert.Equal(t, root.Cert.Raw, b.Roots[0].Raw)
}

func TestLoadReportsUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "ca.crt"), 0o700))
	writeFile(t, filepath.Join(dir, "issuer.crt"), []byte("x"))
	writeFile(t, filepath.Join(dir, "issuer.key"), []byte("x"))
	_, err := newStore(t, file.Options{Dir: dir}).Load()
	require.ErrorContains(t, err, filepath.Join(dir, "ca.crt"))
	assert.NotErrorIs(t, err, file.ErrNotFound)
}

// A file that cannot be written stops the whole save before anything is
// linked into place, and no temporary file is left behind. (Here the key's
// name is valid but its temporary file's name is too long; tests run as
// root, so permissions cannot make a write fail.)
func TestSaveWritesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, file.Options{Dir: dir, KeyFile: strings.Repeat("k", 250)})
	err := s.Save(generate(t))
	require.Error(t, err)
	assert.ErrorContains(t, err, "create temporary file")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "neither ca.crt nor issuer.crt nor a temporary file was left")
}
