package rotation

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sentryBin is the binary under test, built once by TestMain.
var sentryBin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sentry-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	sentryBin = filepath.Join(dir, "sentry")
	cmd := exec.Command("go", "build", "-o", sentryBin, "github.com/trustplane/trustplane/cmd/sentry")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sentry:", err)
		return 1
	}
	return m.Run()
}
