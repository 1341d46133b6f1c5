package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/testca"
)

// newCA returns a root (parent nil) or an issuer under parent; the test CA
// keeps its keys, so tests can rotate issuers under one root (a generated
// bundle throws its root key away).
func newCA(t testing.TB, parent *testca.CA) *testca.CA {
	t.Helper()
	if parent == nil {
		return testca.NewRoot(t)
	}
	return parent.Issuer(t)
}

// writeFile writes data to path as an editor or a tool that writes in
// place would.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// renameInto writes data to path through a temporary file renamed over it.
func renameInto(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// writeBundle writes root, issuer and its key under their default names.
func writeBundle(t testing.TB, dir string, root, issuer *testca.CA) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "ca.crt"), root.CertPEM())
	writeFile(t, filepath.Join(dir, "issuer.crt"), issuer.CertPEM())
	writeFile(t, filepath.Join(dir, "issuer.key"), issuer.KeyPEM(t))
}
