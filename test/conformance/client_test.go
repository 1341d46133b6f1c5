package conformance

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/daprbin"
)

// event is one JSON line of hack/tools/dapr/daprsvid.
type event struct {
	Event, ID, Serial, NotAfter, VerifiedID, Addr, Peer, Error string
}

// daprClient is a running daprsvid: Dapr's own pkg/security provider.
type daprClient struct {
	events chan event
	cmd    *exec.Cmd
}

func startDaprClient(t *testing.T, s *sentry, appID string, extra ...string) *daprClient {
	t.Helper()
	return launchDaprClient(t, s.addr, s.anchors(t), appID, []string{"NAMESPACE=default"}, extra...)
}

// launchDaprClient runs daprsvid against the Sentry at addr, trusting
// anchorsPEM, with env added to the test's.
func launchDaprClient(t *testing.T, addr string, anchorsPEM []byte, appID string, env []string, extra ...string) *daprClient {
	t.Helper()
	anchors := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(anchors, anchorsPEM, 0o600))
	args := append([]string{"--sentry-address", addr, "--trust-anchors-file", anchors, "--app-id", appID,
		"--control-plane-trust-domain", "cluster.local", "--control-plane-namespace", controlPlaneNS}, extra...)
	cmd := exec.Command(daprbin.Path(t, daprbin.DaprSVID), args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	c := &daprClient{events: make(chan event, 64), cmd: cmd}
	go func() {
		defer close(c.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				c.events <- e
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	return c
}

// next returns the next event named name, failing on an error event.
func (c *daprClient) next(t *testing.T, name string, timeout time.Duration) event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-c.events:
			require.True(t, ok, "daprsvid exited before %q", name)
			require.NotEqual(t, "error", e.Event, e.Error)
			if e.Event == name {
				return e
			}
		case <-deadline:
			t.Fatalf("no %q event within %s", name, timeout)
		}
	}
}

// Dapr's own workload client (daprd's, the operator's, placement's and the
// scheduler's pkg/security) gets an SVID from our Sentry, renews it at
// Dapr's moment, and two such clients complete mutual TLS through Dapr's
// own APIs.
func TestDaprsSecurityProviderWorksWithOurSentry(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	// A 10 s certificate without backdating: Dapr renews at half of it.
	require.NoError(t, os.WriteFile(cfg, []byte("spec:\n  mtls:\n    workloadCertTTL: 10s\n    allowedClockSkew: 0s\n"), 0o600))
	ours := startOurs(t, "--config", cfg)

	server := startDaprClient(t, ours, "server", "--serve", "127.0.0.1:0", "--peer-id", "spiffe://public/ns/default/client")
	first := server.next(t, "svid", 30*time.Second)
	assert.Equal(t, "spiffe://public/ns/default/server", first.ID)
	addr := server.next(t, "listening", 10*time.Second).Addr

	t.Run("two Dapr clients complete mutual TLS with our SVIDs", func(t *testing.T) {
		client := startDaprClient(t, ours, "client", "--dial", addr, "--peer-id", "spiffe://public/ns/default/server")
		peer := client.next(t, "peer", 30*time.Second)
		assert.Equal(t, "spiffe://public/ns/default/server", peer.VerifiedID)
		assert.Equal(t, "spiffe://public/ns/default/client", server.next(t, "served", 10*time.Second).Peer)
	})
	t.Run("Dapr's client renews its SVID from our Sentry", func(t *testing.T) {
		renewed := server.next(t, "svid", 30*time.Second)
		assert.Equal(t, first.ID, renewed.ID)
		assert.NotEqual(t, first.Serial, renewed.Serial, "a new certificate")
	})
}
