package sidecar_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
)

func TestParseComponentContainer(t *testing.T) {
	tests := map[string]struct {
		raw      string
		wantName string
		wantErr  string
	}{
		"a container with a name keeps it":          {raw: `{"name":"kv-plugin","image":"kv:1"}`, wantName: "kv-plugin"},
		"a container without a name is named so":    {raw: ` {"image":"kv:1"} `, wantName: "kv"},
		"a misspelt field is refused":               {raw: `{"image":"kv:1","imagePullPolcy":"Always"}`, wantErr: `unknown field "imagePullPolcy"`},
		"no image is refused":                       {raw: `{"name":"x"}`, wantErr: `container "x" has no image`},
		"a name that is not a DNS label is refused": {raw: `{"name":"Bad_Name","image":"kv:1"}`, wantErr: `container name "Bad_Name"`},
		"text that is not JSON is refused":          {raw: `image: kv:1`, wantErr: "not a JSON Container"},
		"two objects are refused":                   {raw: `{"image":"kv:1"}{"image":"kv:2"}`, wantErr: "text after the JSON value"},
		"a JSON array is refused":                   {raw: `[{"image":"kv:1"}]`, wantErr: "not a JSON Container"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := sidecar.ParseComponentContainer("kv", tc.raw)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantName, c.Name)
			assert.Equal(t, "kv:1", c.Image)
		})
	}
}

func FuzzParseComponentContainer(f *testing.F) {
	f.Add("kv", `{"image":"kv:1"}`)
	f.Add("kv", `{"name":"x","image":"i","volumeMounts":[{"name":"v","mountPath":"/v"}]}`)
	f.Add("", `{"image":"i"}`)
	f.Add("kv", `{"image":"i"} junk`)
	f.Fuzz(func(t *testing.T, component, raw string) {
		c, err := sidecar.ParseComponentContainer(component, raw)
		if err != nil {
			return
		}
		if c.Name == "" || c.Image == "" {
			t.Fatalf("accepted %q as a container without a name or image: %+v", raw, c)
		}
	})
}

// withComponents is a pod of app orders asking for its declared components.
func withComponents(ann map[string]string) *corev1.Pod {
	all := map[string]string{a.KeyInjectPluggableComponents: "true"}
	for k, v := range ann {
		all[k] = v
	}
	return testPod(all)
}

func containerNames(pod *corev1.Pod) []string {
	var out []string
	for _, c := range pod.Spec.Containers {
		out = append(out, c.Name)
	}
	return out
}

func TestInjectWithDeclaredComponents(t *testing.T) {
	kv := sidecar.DeclaredComponent{Name: "kv", Container: `{"image":"kv:1","volumeMounts":[{"name":"kv-data","mountPath":"/data"},{"name":"dapr-components-unix-domain-socket","mountPath":"/sock"}]}`}
	tests := map[string]struct {
		pod       *corev1.Pod
		declared  []sidecar.DeclaredComponent
		wantNames []string
		wantErr   string
	}{
		"an unscoped declaration is appended after daprd": {
			pod: withComponents(nil), declared: []sidecar.DeclaredComponent{kv},
			wantNames: []string{"app", "daprd", "kv"},
		},
		"a declaration scoped to the app is appended, one scoped elsewhere is not": {
			pod: withComponents(nil),
			declared: []sidecar.DeclaredComponent{
				{Name: "mine", Scopes: []string{"billing", "orders"}, Container: `{"image":"mine:1"}`},
				{Name: "theirs", Scopes: []string{"billing"}, Container: `{"image":"theirs:1"}`},
			},
			wantNames: []string{"app", "daprd", "mine"},
		},
		"a Component without a container is ignored": {
			pod: withComponents(nil), declared: []sidecar.DeclaredComponent{{Name: "redis"}},
			wantNames: []string{"app", "daprd"},
		},
		"two Components with the same image inject one container": {
			pod: withComponents(nil),
			declared: []sidecar.DeclaredComponent{
				{Name: "first", Container: `{"image":"same:1"}`}, {Name: "second", Container: `{"image":"same:1"}`},
			},
			wantNames: []string{"app", "daprd", "first"},
		},
		"without the annotation nothing declared is injected": {
			pod: testPod(nil), declared: []sidecar.DeclaredComponent{kv},
			wantNames: []string{"app", "daprd"},
		},
		"a falsy annotation injects nothing declared": {
			pod: withComponents(map[string]string{a.KeyInjectPluggableComponents: "false"}), declared: []sidecar.DeclaredComponent{kv},
			wantNames: []string{"app", "daprd"},
		},
		"a declared container named like a pod container is refused": {
			pod: withComponents(nil), declared: []sidecar.DeclaredComponent{{Name: "app", Container: `{"image":"x:1"}`}},
			wantErr: `on Component shop/app, read for dapr.io/inject-pluggable-components: container name "app" is already taken by a container of the pod`,
		},
		"a declared container named daprd is refused": {
			pod: withComponents(nil), declared: []sidecar.DeclaredComponent{{Name: "x", Container: `{"name":"daprd","image":"x:1"}`}},
			wantErr: "already taken by the Dapr sidecar",
		},
		"two declarations of one container name are refused": {
			pod: withComponents(nil),
			declared: []sidecar.DeclaredComponent{
				{Name: "a", Container: `{"name":"p","image":"a:1"}`}, {Name: "b", Container: `{"name":"p","image":"b:1"}`},
			},
			wantErr: "already taken by Component a",
		},
		"an unusable declaration scoped elsewhere does not matter": {
			pod: withComponents(nil), declared: []sidecar.DeclaredComponent{{Name: "x", Scopes: []string{"billing"}, Container: "junk"}},
			wantNames: []string{"app", "daprd"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := sidecar.InjectWith(tc.pod, goldenConfig(), tc.declared)
			if tc.wantErr != "" {
				var aerr *sidecar.AnnotationError
				require.ErrorAs(t, err, &aerr)
				assert.Equal(t, a.KeyComponentContainer, aerr.Annotation)
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantNames, containerNames(out))
		})
	}
}

func TestInjectWithDeclaredComponentsSharesTheSocketFolder(t *testing.T) {
	kv := sidecar.DeclaredComponent{Name: "kv", Container: `{"image":"kv:1","volumeMounts":[{"name":"kv-data","mountPath":"/data"},{"name":"kv-data","mountPath":"/data2"}]}`}
	pod := withComponents(map[string]string{a.KeyComponentSocketsFolder: "/var/sockets"})
	out, err := sidecar.InjectWith(pod, goldenConfig(), []sidecar.DeclaredComponent{kv})
	require.NoError(t, err)
	c := out.Spec.Containers[2]
	for _, ctr := range []corev1.Container{c, daprd(t, out)} {
		e, ok := envValue(ctr, "DAPR_COMPONENT_SOCKETS_FOLDER")
		require.True(t, ok, ctr.Name)
		assert.Equal(t, "/var/sockets", e.Value, ctr.Name)
		assert.Contains(t, ctr.VolumeMounts, corev1.VolumeMount{Name: sidecar.ComponentsVolumeName, MountPath: "/var/sockets"}, ctr.Name)
	}
	_, ok := envValue(c, "DAPR_HTTP_PORT")
	assert.False(t, ok, "a component is not an app container")
	var emptyDirs []string
	for _, v := range out.Spec.Volumes {
		if v.EmptyDir != nil {
			emptyDirs = append(emptyDirs, v.Name)
		}
	}
	assert.Equal(t, []string{sidecar.ComponentsVolumeName, "kv-data"}, emptyDirs, "one emptyDir per volume the pod lacks")
	assert.Equal(t, withComponents(map[string]string{a.KeyComponentSocketsFolder: "/var/sockets"}), pod, "the input is not modified")
}
