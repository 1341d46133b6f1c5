package sentry

import (
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/proc"
)

// Sentry binds its port before it generates a CA: with the port taken it
// fails (exit 1, naming the address) and writes nothing.
func TestSentryWithItsPortTakenFailsBeforeWritingACA(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	dir := t.TempDir()
	p := proc.Launch(t, sentryBin, []string{
		"--issuer-credentials", dir, "--trust-domain", "cluster.local",
		"--listen-address", "127.0.0.1", "--port", portOf(t, taken),
	}, []string{"NAMESPACE=default"})
	assert.Equal(t, 1, p.ExitCode(t))
	assert.Contains(t, p.Logs.String(), "listen on "+taken.Addr().String())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "no CA was generated")
}

func portOf(t *testing.T, ln net.Listener) string {
	t.Helper()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	return port
}
