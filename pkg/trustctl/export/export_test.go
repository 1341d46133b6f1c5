package export

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/test/testca"
)

func TestWrite(t *testing.T) {
	ca := testca.NewRoot(t).Issuer(t)
	b, err := bundle.Parse(ca.Root.CertPEM(), ca.CertPEM(), ca.KeyPEM(t))
	require.NoError(t, err)
	cases := map[string]struct {
		existing []string
		opts     Options
		want     map[string]os.FileMode // files expected with their modes
		refused  bool
	}{
		"certificates are written 0644 and the key is left out by default": {
			want: map[string]os.FileMode{RootsFile: 0o644, IssuerFile: 0o644},
		},
		"the key is written 0600 when asked": {
			opts: Options{IncludeKey: true},
			want: map[string]os.FileMode{RootsFile: 0o644, IssuerFile: 0o644, KeyFile: 0o600},
		},
		"an existing file refuses the whole export": {
			existing: []string{IssuerFile},
			refused:  true,
		},
		"an existing key refuses an export that includes it": {
			existing: []string{KeyFile},
			opts:     Options{IncludeKey: true},
			refused:  true,
		},
		"force overwrites existing files": {
			existing: []string{RootsFile, KeyFile},
			opts:     Options{IncludeKey: true, Force: true},
			want:     map[string]os.FileMode{RootsFile: 0o644, IssuerFile: 0o644, KeyFile: 0o600},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			require.NoError(t, os.MkdirAll(dir, 0o755))
			for _, f := range tc.existing {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("old"), 0o666))
			}
			written, err := Write(dir, b, tc.opts)
			if tc.refused {
				require.ErrorIs(t, err, ErrExists)
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				assert.Len(t, entries, len(tc.existing), "nothing written, no temporary files left")
				return
			}
			require.NoError(t, err)
			assert.Len(t, written, len(tc.want))
			data := map[string][]byte{RootsFile: b.RootsPEM, IssuerFile: b.IssuerChainPEM, KeyFile: b.IssuerKeyPEM}
			for f, mode := range tc.want {
				p := filepath.Join(dir, f)
				got, err := os.ReadFile(p)
				require.NoError(t, err)
				assert.Equal(t, data[f], got, f)
				fi, err := os.Stat(p)
				require.NoError(t, err)
				assert.Equal(t, mode, fi.Mode().Perm(), f)
			}
			if !tc.opts.IncludeKey {
				assert.NoFileExists(t, filepath.Join(dir, KeyFile))
			}
		})
	}
}

func TestWriteCreatesTheDirectory(t *testing.T) {
	ca := testca.NewRoot(t).Issuer(t)
	b, err := bundle.Parse(ca.Root.CertPEM(), ca.CertPEM(), ca.KeyPEM(t))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "a", "b")
	_, err = Write(dir, b, Options{})
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, RootsFile))
}
