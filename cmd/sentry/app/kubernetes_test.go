//go:build !standalone

package app

import (
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptions_KubernetesMode(t *testing.T) {
	tests := map[string]struct {
		args  []string
		env   map[string]string
		check func(t *testing.T, o *Options)
	}{
		"kubernetes mode reads the daprsystem Configuration by default": {
			args: []string{"--mode", "kubernetes"}, env: map[string]string{"KUBECONFIG": "/k"},
			check: func(t *testing.T, o *Options) {
				assert.Equal(t, "daprsystem", o.ConfigFile)
				assert.Equal(t, "/k", o.Kubeconfig, "outside a cluster $KUBECONFIG is used")
			},
		},
		"the JWT Secret keys are the files' base names": {
			args: []string{"--mode", "kubernetes", "--jwt-enabled", "--jwt-key-filename", "/etc/keys/signing.pem"},
			check: func(t *testing.T, o *Options) {
				assert.Equal(t, "signing.pem", o.JWT.kubeOptions().KeyKey)
				assert.Equal(t, "jwks.json", o.JWT.kubeOptions().JWKSKey)
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("sentry", pflag.ContinueOnError)
			o.AddFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			o.Complete(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			require.NoError(t, o.Validate())
			tc.check(t, o)
		})
	}
}
