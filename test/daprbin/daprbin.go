package daprbin

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Version is the Dapr release hack/tools/dapr pins.
const Version = "1.18.3"

// Env names the directory of the binaries, overriding the default.
const Env = "DAPR_BIN"

// The binaries hack/dapr-assets.sh builds.
const (
	Sentry    = "sentry"
	Placement = "placement"
	Scheduler = "scheduler"
	Injector  = "injector"
	Operator  = "operator"
	// DaprSVID is our driver: a workload using Dapr's own security
	// provider (see hack/tools/dapr/daprsvid).
	DaprSVID = "daprsvid"
)

// Binaries lists every binary in Dir.
var Binaries = []string{Sentry, Placement, Scheduler, Injector, Operator, DaprSVID}

// Dir is where the binaries are: $DAPR_BIN, else the user cache directory
// + trustplane/dapr-<Version>, the same default as hack/dapr-assets.sh. It
// is "" when neither is known (no $DAPR_BIN and no home directory).
func Dir() string {
	if dir := os.Getenv(Env); dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "trustplane", "dapr-"+Version)
}

// Path is the path of the named binary (one of Binaries). A missing or
// non-executable binary fails the test, naming make dapr-tools.
func Path(t testing.TB, name string) string {
	t.Helper()
	if !slices.Contains(Binaries, name) {
		t.Fatalf("daprbin: unknown binary %q: hack/dapr-assets.sh builds %v", name, Binaries)
	}
	path, err := find(name)
	if err != nil {
		t.Fatalf("daprbin: Dapr %s %s binary: %v", Version, name, err)
	}
	return path
}

// ChartDir is the directory of Dapr's Helm chart (charts/dapr of the pinned
// module, copied next to the binaries). A missing chart fails the test.
func ChartDir(t testing.TB) string {
	t.Helper()
	dir, err := chartDir()
	if err != nil {
		t.Fatalf("daprbin: Dapr %s chart: %v", Version, err)
	}
	return dir
}

func find(name string) (string, error) {
	dir := Dir()
	if dir == "" {
		return "", fmt.Errorf("no user cache directory and no $%s %s", Env, hint())
	}
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w %s", err, hint())
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%s is not an executable file %s", path, hint())
	}
	return path, nil
}

func chartDir() (string, error) {
	dir := Dir()
	if dir == "" {
		return "", fmt.Errorf("no user cache directory and no $%s %s", Env, hint())
	}
	chart := filepath.Join(dir, "charts", "dapr")
	if _, err := os.Stat(filepath.Join(chart, "Chart.yaml")); err != nil {
		return "", fmt.Errorf("%w %s", err, hint())
	}
	return chart, nil
}

func hint() string {
	return fmt.Sprintf("(run make dapr-tools, i.e. hack/dapr-assets.sh; $%s overrides the directory)", Env)
}
