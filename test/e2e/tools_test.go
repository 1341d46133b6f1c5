package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/test/envtest"
)

// chartDir is the chart under test.
func chartDir() string { return filepath.Join(envtest.RepoRoot(), "charts", "trustplane") }

// tool finds helm or kubectl: $HELM / $KUBECTL, else the envtest cache that
// `make e2e-tools` fills, else PATH. A missing tool fails the test.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p := os.Getenv(strings.ToUpper(name)); p != "" {
		return p
	}
	if dir, err := envtest.AssetsDir(); err == nil {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if dir, err := envtest.DefaultCacheDir(); err == nil {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run make e2e-tools (builds it into the envtest cache) or set $%s", name, strings.ToUpper(name))
	}
	return p
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// run runs a tool with a private HOME-like environment and returns its
// combined output and error.
func run(t testing.TB, kubeconfig, bin string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+kubeconfig,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// helm runs helm and fails the test on error.
func helm(t testing.TB, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := run(t, kubeconfig, tool(t, "helm"), args...)
	require.NoError(t, err, "helm %s:\n%s", strings.Join(args, " "), out)
	return out
}

// kubectl runs kubectl and fails the test on error.
func kubectl(t testing.TB, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := run(t, kubeconfig, tool(t, "kubectl"), args...)
	require.NoError(t, err, "kubectl %s:\n%s", strings.Join(args, " "), out)
	return out
}

// rendered is the output of helm template, by kind and name.
type rendered map[string]*unstructured.Unstructured

func key(kind, name string) string { return kind + "/" + name }

// parseManifests splits a multi-document YAML stream into objects.
func parseManifests(t testing.TB, out string) rendered {
	t.Helper()
	objs := rendered{}
	for _, doc := range strings.Split(out, "\n---") {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m), doc)
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		k := key(u.GetKind(), u.GetName())
		require.NotContains(t, objs, k, "rendered twice")
		objs[k] = u
	}
	return objs
}

// get converts the rendered object kind/name into a typed object.
func get[T any](t testing.TB, r rendered, kind, name string) *T {
	t.Helper()
	u, ok := r[key(kind, name)]
	require.True(t, ok, "%s/%s is rendered", kind, name)
	var obj T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &obj, true), "%s/%s", kind, name)
	return &obj
}

// templateFails renders the chart with each of sets as a --set value and
// returns helm's output; the render must fail.
func templateFails(t *testing.T, sets ...string) string {
	t.Helper()
	args := []string{"template", "x", chartDir()}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := run(t, "", tool(t, "helm"), args...)
	require.Error(t, err, out)
	return out
}

// template renders the chart offline into namespace ns.
func template(t testing.TB, ns string, args ...string) rendered {
	t.Helper()
	return parseManifests(t, helm(t, "", append([]string{"template", "trustplane", chartDir(), "-n", ns, "--include-crds"}, args...)...))
}
