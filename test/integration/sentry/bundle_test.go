package sentry

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/testca"
)

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(data)
	}
	return out
}

func TestSentryRefusesBrokenBundlesAndNeverOverwritesThem(t *testing.T) {
	root := testca.NewRoot(t)
	issuer := root.Issuer(t)
	expired := root.Issuer(t, testca.WithNotBefore(time.Now().Add(-48*time.Hour)), testca.WithLifetime(24*time.Hour))
	stranger := testca.NewRoot(t).Issuer(t)

	tests := map[string]struct {
		files   map[string][]byte
		wantLog []string
	}{
		"a missing issuer key is refused, naming the file": {
			files:   map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": issuer.CertPEM()},
			wantLog: []string{"issuer.key"},
		},
		"a lone root is refused, naming the missing files": {
			files:   map[string][]byte{"ca.crt": root.CertPEM()},
			wantLog: []string{"issuer.crt"},
		},
		"an issuer key that does not match the issuer is refused": {
			files:   map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": issuer.CertPEM(), "issuer.key": stranger.KeyPEM(t)},
			wantLog: []string{"issuer.key"},
		},
		"an issuer from another root is refused": {
			files:   map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": stranger.CertPEM(), "issuer.key": stranger.KeyPEM(t)},
			wantLog: []string{"issuer"},
		},
		"an expired issuer is refused": {
			files:   map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": expired.CertPEM(), "issuer.key": expired.KeyPEM(t)},
			wantLog: []string{"expired"},
		},
		"a garbage root file is refused, naming the file": {
			files:   map[string][]byte{"ca.crt": []byte("not a certificate"), "issuer.crt": issuer.CertPEM(), "issuer.key": issuer.KeyPEM(t)},
			wantLog: []string{"ca.crt"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, data := range tc.files {
				testca.WriteFile(t, filepath.Join(dir, f), data)
			}
			before := snapshot(t, dir)
			p := launch(t, dir)
			assert.Equal(t, 1, p.ExitCode(t), "sentry refuses to start")
			for _, s := range tc.wantLog {
				assert.Contains(t, p.Logs.String(), s)
			}
			assert.Equal(t, before, snapshot(t, dir), "nothing was written over the user's files")
		})
	}
}

func TestSentryLoadsABringYourOwnChainWithSeveralRoots(t *testing.T) {
	dir := t.TempDir()
	oldRoot, newRoot := testca.NewRoot(t), testca.NewRoot(t)
	issuer := newRoot.Issuer(t)
	testca.WriteFile(t, filepath.Join(dir, "ca.crt"), append(oldRoot.CertPEM(), newRoot.CertPEM()...))
	// The issuer file carries the chain up to and including its root.
	testca.WriteFile(t, filepath.Join(dir, "issuer.crt"), append(issuer.CertPEM(), newRoot.CertPEM()...))
	testca.WriteFile(t, filepath.Join(dir, "issuer.key"), issuer.KeyPEM(t))

	p := startSentry(t, dir)
	assert.Len(t, p.anchors(t), 2)
	_, chain := signLeaf(t, p.client(t))
	require.Len(t, chain, 1, "the root is stripped from the returned chain")
	assert.Equal(t, issuer.Cert.Raw, chain[0].Raw)
}

func TestSentryServesWithAnExpiredRootBesideTheCurrentOne(t *testing.T) {
	dir := t.TempDir()
	old := testca.NewRoot(t, testca.WithNotBefore(time.Now().Add(-48*time.Hour)), testca.WithLifetime(24*time.Hour))
	root := testca.NewRoot(t)
	issuer := root.Issuer(t)
	testca.WriteFile(t, filepath.Join(dir, "ca.crt"), append(old.CertPEM(), root.CertPEM()...))
	testca.WriteFile(t, filepath.Join(dir, "issuer.crt"), issuer.CertPEM())
	testca.WriteFile(t, filepath.Join(dir, "issuer.key"), issuer.KeyPEM(t))

	p := startSentry(t, dir)
	_, chain := signLeaf(t, p.client(t))
	assert.Equal(t, issuer.Cert.Raw, chain[0].Raw)
	assert.Contains(t, p.Logs.String(), "expired root certificate", "the leftover root is reported")
}
