package daprbin

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// DaprdVersion is the daprd release hack/tools/daprd pins: v1.18.2, not
// Version, because v1.18.3's daprd needs modules the Go module proxy refuses
// (hack/tools/daprd/README.md).
const DaprdVersion = "1.18.2"

// DaprdEnv names the directory of daprd, overriding the default.
const DaprdEnv = "DAPRD_BIN"

// DaprdDir is where hack/daprd-assets.sh (make daprd) puts daprd:
// $DAPRD_BIN, else the user cache directory + trustplane/daprd-<DaprdVersion>,
// the script's default. It is "" when neither is known.
func DaprdDir() string {
	if dir := os.Getenv(DaprdEnv); dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "trustplane", "daprd-"+DaprdVersion)
}

// Daprd is the path of Dapr's daprd sidecar, built with -tags
// stablecomponents. A missing or non-executable binary fails the test,
// naming make daprd: it is not built by make test (a cold build is long),
// and its tests never skip.
func Daprd(t testing.TB) string {
	t.Helper()
	path, err := findDaprd()
	if err != nil {
		t.Fatalf("daprbin: Dapr %s daprd binary: %v", DaprdVersion, err)
	}
	return path
}

func findDaprd() (string, error) {
	hint := fmt.Sprintf("(run make daprd, i.e. hack/daprd-assets.sh; $%s overrides the directory)", DaprdEnv)
	dir := DaprdDir()
	if dir == "" {
		return "", fmt.Errorf("no user cache directory and no $%s %s", DaprdEnv, hint)
	}
	path := filepath.Join(dir, "daprd")
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w %s", err, hint)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%s is not an executable file %s", path, hint)
	}
	return path, nil
}
