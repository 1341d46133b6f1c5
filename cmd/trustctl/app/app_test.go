package app

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// These cases fail before any cluster is contacted: the kubeconfig points
// at nothing.
func TestUsage(t *testing.T) {
	cases := map[string]struct {
		args []string
		code int
		msg  string
		out  string
	}{
		"an unknown flag is a usage error":    {args: []string{"mtls", "--nope"}, code: ExitUsage, msg: "unknown flag: --nope"},
		"an unknown output format is refused": {args: []string{"mtls", "expiry", "-o", "yaml"}, code: ExitUsage, msg: `--output "yaml": use table or json`},
		"incomplete certificate flags use Dapr's text": {args: []string{"mtls", "renew-certificate", "--issuer-private-key", "k"}, code: ExitUsage,
			msg: `all required flags for this certificate rotation path, "ca-root-certificate", "issuer-private-key" and "issuer-public-certificate" are not present`},
		"--private-key with provided certificates is refused": {args: []string{"mtls", "rnc", "--private-key", "k",
			"--ca-root-certificate", "a", "--issuer-private-key", "b", "--issuer-public-certificate", "c"}, code: ExitUsage, msg: "cannot be combined"},
		"--valid-until 0 is refused":                          {args: []string{"mtls", "renew-cert", "--valid-until", "0"}, code: ExitUsage, msg: "at least 1 day"},
		"Dapr's -k is accepted":                               {args: []string{"mtls", "-k", "--help"}, code: ExitOK, out: "Show whether mTLS is enabled"},
		"bash completion is generated":                        {args: []string{"completion", "bash"}, code: ExitOK, out: "bash completion V2 for trustctl"},
		"zsh completion is generated":                         {args: []string{"completion", "zsh"}, code: ExitOK, out: "#compdef trustctl"},
		"fish completion is generated":                        {args: []string{"completion", "fish"}, code: ExitOK, out: "complete -c trustctl"},
		"a missing kubeconfig is an error, not a usage error": {args: []string{"mtls"}, code: ExitError, msg: "load kubeconfig"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append(tc.args, "--kubeconfig", filepath.Join(t.TempDir(), "absent"))
			code := Main(t.Context(), args, Env{Out: &out, Err: &errOut})
			assert.Equal(t, tc.code, code, errOut.String())
			assert.Contains(t, errOut.String(), tc.msg)
			assert.Contains(t, out.String(), tc.out)
		})
	}
}
