package conformance

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/daprbin"
)

var flagName = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`)

func flags(t *testing.T, bin string) []string {
	t.Helper()
	out, _ := exec.Command(bin, "--help").CombinedOutput() // pflag's --help exits 0 or 2 by version
	var names []string
	for _, m := range flagName.FindAllStringSubmatch(string(out), -1) {
		names = append(names, m[1])
	}
	require.NotEmpty(t, names, "no flags in %s --help:\n%s", bin, out)
	return names
}

// Every flag of Dapr v1.18.3's sentry is one of ours (docs/dapr-compatibility.md
// lists what each means here).
func TestEveryDaprSentryFlagIsAccepted(t *testing.T) {
	ours := flags(t, sentryBin)
	for _, f := range flags(t, daprbin.Path(t, daprbin.Sentry)) {
		assert.Contains(t, ours, f, "Dapr's sentry flag --%s", f)
	}
}
