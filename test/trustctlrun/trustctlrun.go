// Package trustctlrun runs trustctl in-process for tests, the way an admin
// runs it against a cluster, and waits out the phases of a rotation.
package trustctlrun

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
)

// Run runs trustctl with args and the kubeconfig, returning the exit code
// and stdout and stderr together.
func Run(t *testing.T, kubeconfig string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := app.Main(t.Context(), append([]string{"--kubeconfig", kubeconfig}, args...), app.Env{Out: &out, Err: &errb})
	return code, out.String() + errb.String()
}

// StepWhenReady runs a rotation step, which must be refused (exit 5) at
// first, until it succeeds within the time given, and returns how long it
// was refused.
func StepWhenReady(t *testing.T, kubeconfig string, within time.Duration, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	code, out := Run(t, kubeconfig, args...)
	require.Equal(t, app.ExitNotReady, code, "%v is refused at first: %s", args, out)
	t.Logf("%v refused as expected: %s", args, out)
	for time.Since(start) < within {
		time.Sleep(500 * time.Millisecond)
		code, out = Run(t, kubeconfig, args...)
		if code == app.ExitOK {
			return time.Since(start)
		}
		require.Equal(t, app.ExitNotReady, code, "%v: %s", args, out)
	}
	t.Fatalf("%v still refused after %s: %s", args, within, out)
	return 0
}
