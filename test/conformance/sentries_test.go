package conformance

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/daprbin"
	"github.com/trustplane/trustplane/test/proc"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// controlPlaneNS is the namespace both Sentries run in.
const controlPlaneNS = "dapr-system"

// sentry is a running Sentry, ours or Dapr's, self-hosted.
type sentry struct {
	name   string
	addr   string
	dir    string // its trust bundle
	client sentryv1.CAClient
	logs   *proc.Buffer
	proc   *proc.Proc
}

func (s *sentry) anchors(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.dir, "ca.crt"))
	require.NoError(t, err)
	return data
}

// emptyConfig is what Dapr's tooling passes as --config self-hosted: Dapr's
// sentry refuses to start without a config file there.
func emptyConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	return path
}

// startOurs starts our Sentry self-hosted with the trust domain
// cluster.local in controlPlaneNS, with an empty config file as Dapr's
// tooling passes.
func startOurs(t *testing.T, args ...string) *sentry {
	t.Helper()
	dir := t.TempDir()
	p := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: append([]string{"--issuer-credentials", dir, "--trust-domain", "cluster.local", "--config", emptyConfig(t)}, args...),
		Env:  []string{"NAMESPACE=" + controlPlaneNS},
		ID:   sentryID(),
	})
	s := &sentry{name: "ours", addr: p.GRPCAddr, dir: dir, logs: p.Logs, proc: p.Proc}
	s.client = p.Client(t, s.anchors(t))
	return s
}

// startDapr starts Dapr v1.18.3's Sentry the same way.
func startDapr(t *testing.T, args ...string) *sentry {
	t.Helper()
	dir := t.TempDir()
	port := proc.FreePort(t)
	all := append([]string{
		"--issuer-credentials", dir, "--trust-domain", "cluster.local", "--config", emptyConfig(t),
		"--listen-address", "127.0.0.1", "--port", fmt.Sprint(port),
	}, args...)
	// proc.Launch adds the health and metrics flags, which are Dapr's too.
	p := proc.Launch(t, daprbin.Path(t, daprbin.Sentry), all, []string{"NAMESPACE=" + controlPlaneNS})
	waitHTTP(t, p, "http://"+p.HealthAddr+"/healthz")
	s := &sentry{name: "Dapr's", addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, logs: p.Logs, proc: p}
	sp := &sentryproc.Proc{GRPCAddr: s.addr, ID: sentryID()}
	s.client = sp.Client(t, s.anchors(t))
	return s
}

func waitHTTP(t *testing.T, p *proc.Proc, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not ready at %s; logs:\n%s", url, p.Logs.String())
}

func sentryID() spiffeid.ID {
	return spiffeid.RequireFromString("spiffe://cluster.local/ns/" + controlPlaneNS + "/dapr-sentry")
}
