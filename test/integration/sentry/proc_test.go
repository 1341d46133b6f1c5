package sentry

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// sentryProc is a self-hosted sentry whose trust bundle lives in dir.
type sentryProc struct {
	*sentryproc.Proc
	dir string
}

func sentryOptions(dir string, args []string) sentryproc.Options {
	return sentryproc.Options{
		Args: append([]string{"--issuer-credentials", dir, "--trust-domain", "cluster.local"}, args...),
		Env:  []string{"NAMESPACE=default"},
	}
}

// startSentry starts sentry on dir with extra flags and waits until it is ready.
func startSentry(t *testing.T, dir string, args ...string) *sentryProc {
	t.Helper()
	return &sentryProc{Proc: sentryproc.Start(t, sentryBin, sentryOptions(dir, args)), dir: dir}
}

// launch starts sentry without waiting for it.
func launch(t *testing.T, dir string, args ...string) *sentryProc {
	t.Helper()
	return &sentryProc{Proc: sentryproc.Launch(t, sentryBin, sentryOptions(dir, args)), dir: dir}
}

func (p *sentryProc) anchorsPEM(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.dir, "ca.crt"))
	require.NoError(t, err)
	return data
}

// anchors reads the trust anchors sentry uses from its directory.
func (p *sentryProc) anchors(t *testing.T) []*x509.Certificate {
	t.Helper()
	b, err := x509bundle.Parse(p.ID.TrustDomain(), p.anchorsPEM(t))
	require.NoError(t, err)
	return b.X509Authorities()
}

// client dials sentry, trusting its anchors and authorizing its SPIFFE ID.
func (p *sentryProc) client(t *testing.T) sentryv1.CAClient {
	t.Helper()
	return p.Client(t, p.anchorsPEM(t))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}
