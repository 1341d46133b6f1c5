package sentry

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

// Both builds serve self-hosted mode from the same packages: the rest of
// this package runs the standalone build; here the full build (the
// container image's) generates a CA and signs too.
func TestTheFullBuildServesSelfHostedModeToo(t *testing.T) {
	dir := t.TempDir()
	p := &sentryProc{Proc: sentryproc.Start(t, fullSentryBin, sentryOptions(dir, nil)), dir: dir}
	key := testca.NewKey(t)
	resp, err := p.client(t).SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, key),
	})
	require.NoError(t, err)
	leaf := parseChain(t, resp.GetWorkloadCertificate())[0]
	assert.Equal(t, "spiffe://public/ns/shop/orders", leaf.URIs[0].String())
	assert.Equal(t, key.Public(), leaf.PublicKey)
}

// The standalone build has no Kubernetes mode: asking for it is a usage
// error (exit 2) that names the build to use, and nothing is written.
func TestTheStandaloneBuildRefusesKubernetesMode(t *testing.T) {
	dir := t.TempDir()
	p := launch(t, dir, "--mode", "kubernetes")
	assert.Equal(t, 2, p.ExitCode(t))
	assert.Contains(t, p.Logs.String(), "this is the standalone build of sentry, without Kubernetes support")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is written to %s", filepath.Base(dir))
}
