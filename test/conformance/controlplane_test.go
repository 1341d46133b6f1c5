package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/daprbin"
	"github.com/trustplane/trustplane/test/proc"
)

// Dapr's placement and scheduler, v1.18.3's binaries, take their SVIDs from
// our Sentry (Dapr's pkg/security inside them) and become ready: placement
// serves mTLS and the scheduler's embedded etcd accepts our certificate,
// whose DNS SANs it checks.
func TestDaprsControlPlaneStartsOnOurSentry(t *testing.T) {
	ours := startOurs(t)
	anchors := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(anchors, ours.anchors(t), 0o600))
	sentryArgs := []string{"--tls-enabled=true", "--sentry-address=" + ours.addr, "--trust-anchors-file=" + anchors,
		"--trust-domain=cluster.local", "--listen-address=127.0.0.1", "--mode=standalone"}
	env := []string{"NAMESPACE=" + controlPlaneNS}

	t.Run("placement", func(t *testing.T) {
		id := "dapr-placement-0"
		port, raft := proc.FreePort(t), proc.FreePort(t)
		p := proc.Launch(t, daprbin.Path(t, daprbin.Placement), append([]string{
			"--id=" + id, fmt.Sprintf("--port=%d", port), fmt.Sprintf("--initial-cluster=%s=127.0.0.1:%d", id, raft),
			"--inmem-store-enabled=true",
		}, sentryArgs...), env)
		waitHTTP(t, p, "http://"+p.HealthAddr+"/healthz")
		assert.Contains(t, p.Logs.String(), "Security is initialized successfully", "placement has its SVID")
	})
	t.Run("scheduler", func(t *testing.T) {
		id := "dapr-scheduler-server-0"
		port, peer, client := proc.FreePort(t), proc.FreePort(t), proc.FreePort(t)
		dataDir := t.TempDir()
		require.NoError(t, os.Chmod(dataDir, 0o700))
		p := proc.Launch(t, daprbin.Path(t, daprbin.Scheduler), append([]string{
			"--id=" + id, fmt.Sprintf("--port=%d", port), "--etcd-data-dir=" + dataDir,
			fmt.Sprintf("--etcd-client-port=%d", client), fmt.Sprintf("--etcd-initial-cluster=%s=https://127.0.0.1:%d", id, peer),
		}, sentryArgs...), env)
		waitHTTP(t, p, "http://"+p.HealthAddr+"/healthz")
		assert.Contains(t, p.Logs.String(), "Security is initialized successfully", "the scheduler has its SVID")
		assert.NotContains(t, p.Logs.String(), "does not contain the expected DNS name")
	})
	assert.GreaterOrEqual(t, ours.proc.Counter(t, "dapr_sentry_cert_sign_success_total"), 2.0, "our Sentry signed both")
}
