package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
)

func TestCheckNotRoot(t *testing.T) {
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == EnvSkipUIDGIDCheck && v != "" {
				return v, true
			}
			return "", false
		}
	}
	tests := map[string]struct {
		mode    string
		euid    int
		skip    string
		wantErr bool
	}{
		"root in Kubernetes mode is refused, as Dapr's sentry refuses it": {mode: ModeKubernetes, euid: 0, wantErr: true},
		"a non-root user in Kubernetes mode runs":                         {mode: ModeKubernetes, euid: 65532},
		"root in Kubernetes mode runs with the override set to true":      {mode: ModeKubernetes, euid: 0, skip: "true"},
		"the override is read as Dapr reads it: only the exact true":      {mode: ModeKubernetes, euid: 0, skip: "1", wantErr: true},
		"root self-hosted runs":                                           {mode: ModeStandalone, euid: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := checkNotRoot(tc.mode, tc.euid, env(tc.skip), zap.NewNop())
			if tc.wantErr {
				assert.ErrorIs(t, err, errRunAsRoot)
				assert.ErrorContains(t, err, EnvSkipUIDGIDCheck+"=true")
				return
			}
			assert.NoError(t, err)
		})
	}
}
