package sidecar_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
)

func TestParseTolerations(t *testing.T) {
	tests := map[string]struct {
		raw     string
		want    int
		wantErr string
	}{
		"Dapr's chart default parses":     {raw: sidecar.VirtualNodeTolerations, want: 4},
		"nothing is no tolerations":       {raw: " ", want: 0},
		"an empty array is no toleration": {raw: "[]", want: 0},
		"an operator Kubernetes lacks is refused": {
			raw: `[{"key":"k","operator":"Matches"}]`, wantErr: `toleration 0: operator "Matches"`,
		},
		"an effect Kubernetes lacks is refused": {
			raw: `[{"key":"k"},{"key":"k","effect":"NoStart"}]`, wantErr: `toleration 1: effect "NoStart"`,
		},
		"a misspelt field is refused":          {raw: `[{"kee":"k"}]`, wantErr: `unknown field "kee"`},
		"one object, not an array, is refused": {raw: `{"key":"k"}`, wantErr: "not a JSON array of tolerations"},
		"text after the array is refused":      {raw: `[] []`, wantErr: "text after the JSON value"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := sidecar.ParseTolerations(tc.raw)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, got, tc.want)
		})
	}
}

func FuzzParseTolerations(f *testing.F) {
	f.Add(sidecar.VirtualNodeTolerations)
	f.Add(`[{"key":"k","operator":"Exists","effect":"NoExecute","tolerationSeconds":5}]`)
	f.Add(`[{"key":"k","operator":"In"}]`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := sidecar.ParseTolerations(raw)
		if err != nil {
			return
		}
		for _, tol := range got {
			switch tol.Operator {
			case "", corev1.TolerationOpEqual, corev1.TolerationOpExists:
			default:
				t.Fatalf("accepted operator %q", tol.Operator)
			}
		}
	})
}

func TestEntrypointTolerationsMakeDaprdTheCommand(t *testing.T) {
	virtual, err := sidecar.ParseTolerations(sidecar.VirtualNodeTolerations)
	require.NoError(t, err)
	tests := map[string]struct {
		tolerations []corev1.Toleration
		debug       bool
		wantCommand []string
	}{
		"a pod without tolerations keeps the image ENTRYPOINT": {},
		"a pod tolerating another taint keeps it": {
			tolerations: []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		},
		"a pod tolerating a virtual node runs daprd as command": {
			tolerations: []corev1.Toleration{{Key: "azure.com/aci", Effect: corev1.TaintEffectNoSchedule}},
			wantCommand: []string{"/daprd"},
		},
		"an explicit Equal operator matches one left out": {
			tolerations: []corev1.Toleration{{Key: "aws", Operator: corev1.TolerationOpEqual, Effect: corev1.TaintEffectNoSchedule}},
			wantCommand: []string{"/daprd"},
		},
		"another effect does not match": {
			tolerations: []corev1.Toleration{{Key: "aws", Effect: corev1.TaintEffectNoExecute}},
		},
		"under the debugger dlv is the command": {
			tolerations: []corev1.Toleration{{Key: "huawei.com/cci", Effect: corev1.TaintEffectNoSchedule}},
			debug:       true, wantCommand: []string{"/dlv"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ann := map[string]string{}
			if tc.debug {
				ann[a.KeyEnableDebug] = "true"
			}
			pod := testPod(ann)
			pod.Spec.Tolerations = tc.tolerations
			cfg := goldenConfig()
			cfg.EntrypointTolerations = virtual
			out, err := sidecar.Inject(pod, cfg)
			require.NoError(t, err)
			d := daprd(t, out)
			assert.Equal(t, tc.wantCommand, d.Command)
			if tc.wantCommand == nil {
				assert.Contains(t, []string{"/daprd", "/dlv"}, d.Args[0], "the binary leads the args")
				return
			}
			assert.Equal(t, "--", d.Args[0][:2], "the args are flags only")
		})
	}
}

func TestSidecarSecurityAndDownwardAPIConfig(t *testing.T) {
	hardened := goldenConfig()
	relaxed := goldenConfig()
	relaxed.AllowRoot, relaxed.WritableRootFilesystem, relaxed.KeepCapabilities, relaxed.HostIPEnv = true, true, true, true

	out, err := sidecar.Inject(testPod(nil), hardened)
	require.NoError(t, err)
	sc := daprd(t, out).SecurityContext
	assert.True(t, *sc.RunAsNonRoot)
	assert.True(t, *sc.ReadOnlyRootFilesystem)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	_, ok := envValue(daprd(t, out), "DAPR_HOST_IP")
	assert.False(t, ok, "no pod IP unless asked")

	out, err = sidecar.Inject(testPod(nil), relaxed)
	require.NoError(t, err)
	d := daprd(t, out)
	assert.False(t, *d.SecurityContext.RunAsNonRoot)
	assert.False(t, *d.SecurityContext.ReadOnlyRootFilesystem)
	assert.Nil(t, d.SecurityContext.Capabilities, "the runtime's default capabilities")
	assert.False(t, *d.SecurityContext.AllowPrivilegeEscalation, "never relaxed")
	e, ok := envValue(d, "DAPR_HOST_IP")
	require.True(t, ok)
	assert.Equal(t, "status.podIP", e.ValueFrom.FieldRef.FieldPath)
	names := make([]string, 0, len(d.Env))
	for _, e := range d.Env {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"NAMESPACE", "DAPR_TRUST_ANCHORS", "POD_NAME", "DAPR_CONTROLPLANE_NAMESPACE",
		"DAPR_CONTROLPLANE_TRUST_DOMAIN", "DAPR_HOST_IP"}, names, "in Dapr's order")
}
