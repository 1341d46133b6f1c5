package trustctlrun_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/test/trustctlrun"
)

func TestRunReturnsTheExitCodeAndTheOutput(t *testing.T) {
	code, out := trustctlrun.Run(t, "/nonexistent/kubeconfig", "mtls", "--help")
	assert.Equal(t, app.ExitOK, code)
	assert.Contains(t, out, "rotate-root")

	code, out = trustctlrun.Run(t, "/nonexistent/kubeconfig", "mtls", "--no-such-flag")
	assert.Equal(t, app.ExitUsage, code)
	assert.Contains(t, out, "no-such-flag")
}
