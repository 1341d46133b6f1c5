package envtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// AssetsEnv names the directory of etcd and kube-apiserver.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// Env is a running control plane.
type Env struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string

	env *envtest.Environment
}

// Options tune Start.
type Options struct {
	// CRDDirectoryPaths are installed and waited for (for example config/crd).
	CRDDirectoryPaths []string
	// CRDs are installed and waited for.
	CRDs []*apiextensionsv1.CustomResourceDefinition
}

// AssetsDir finds the binaries: $KUBEBUILDER_ASSETS, else the cache
// hack/envtest-assets.sh fills by default.
func AssetsDir() (string, error) {
	if dir := os.Getenv(AssetsEnv); dir != "" {
		return dir, checkAssets(dir)
	}
	dir, err := DefaultCacheDir()
	if err != nil {
		return "", err
	}
	return dir, checkAssets(dir)
}

// DefaultCacheDir is where hack/envtest-assets.sh puts the binaries unless
// ENVTEST_BIN says otherwise: outside the clone, so fresh clones reuse it.
func DefaultCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache directory: %w", err)
	}
	return filepath.Join(base, "trustplane", "envtest"), nil
}

func checkAssets(dir string) error {
	var errs []error
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("envtest binaries missing in %s (run hack/envtest-assets.sh or make envtest): %w", dir, errors.Join(errs...))
	}
	return nil
}

// Start starts etcd and kube-apiserver and stops them when the test ends.
// Missing binaries fail the test: it never skips.
func Start(t testing.TB, opts ...Options) *Env {
	t.Helper()
	dir, err := AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	for _, x := range opts {
		o.CRDDirectoryPaths = append(o.CRDDirectoryPaths, x.CRDDirectoryPaths...)
		o.CRDs = append(o.CRDs, x.CRDs...)
	}
	// envtest logs through controller-runtime's global logger; without one
	// it prints a stack trace warning. Tests do not need its logs.
	ctrllog.SetLogger(logr.Discard())
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		CRDDirectoryPaths:        o.CRDDirectoryPaths,
		CRDs:                     o.CRDs,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest from %s: %v", dir, err)
	}
	e := &Env{Config: cfg, env: env}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	e.Kubeconfig = e.writeKubeconfig(t, "envtest-admin", []string{"system:masters"})
	return e
}

// User adds a user (client certificate) with the given groups and returns
// its client configuration and a kubeconfig file. The user has only the
// rights that RBAC grants it.
func (e *Env) User(t testing.TB, name string, groups ...string) (*rest.Config, string) {
	t.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		t.Fatalf("kubeconfig of %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return u.Config(), path
}

func (e *Env) writeKubeconfig(t testing.TB, name string, groups []string) string {
	t.Helper()
	_, path := e.User(t, name, groups...)
	return path
}

// RepoRoot is the repository root, for paths like config/crd.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
