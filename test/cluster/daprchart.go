package cluster

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

	"github.com/trustplane/trustplane/test/daprbin"
	"github.com/trustplane/trustplane/test/envtest"
)

// Helm finds helm: $HELM, else the envtest cache that `make e2e-tools`
// fills, else PATH. A missing helm fails the test.
func Helm(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HELM"); p != "" {
		return p
	}
	for _, dir := range []func() (string, error){envtest.AssetsDir, envtest.DefaultCacheDir} {
		if d, err := dir(); err == nil {
			if p := filepath.Join(d, "helm"); executable(p) {
				return p
			}
		}
	}
	p, err := exec.LookPath("helm")
	if err != nil {
		t.Fatal("helm not found: run make e2e-tools (builds it into the envtest cache) or set $HELM")
	}
	return p
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// DaprChart is Dapr's chart rendered by helm template: its objects by
// kind and name.
type DaprChart map[string]unstructured.Unstructured

// RenderDaprChart renders Dapr v1.18.3's own chart (test/daprbin.ChartDir)
// as release "dapr" in the control-plane namespace with Dapr's defaults and
// args (for example "--set", "global.mtls.mountSentryVolume=false").
func RenderDaprChart(t testing.TB, args ...string) DaprChart {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(Helm(t), append([]string{"template", "dapr", daprbin.ChartDir(t), "-n", ControlPlaneNamespace}, args...)...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "helm template of Dapr's chart:\n%s", errOut.String())
	chart := DaprChart{}
	for _, doc := range strings.Split(out.String(), "\n---") {
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
		if len(obj) == 0 {
			continue
		}
		u := unstructured.Unstructured{Object: obj}
		chart[u.GetKind()+"/"+u.GetName()] = u
	}
	return chart
}

// Get decodes the object kind/name into out, failing the test when the
// chart has none.
func (c DaprChart) Get(t testing.TB, kind, name string, out any) {
	t.Helper()
	u, ok := c[kind+"/"+name]
	require.True(t, ok, "Dapr's chart renders %s %s", kind, name)
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out))
}
