package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/injectorproc"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// The binaries under test, built once by TestMain.
var sentryBin, injectorBin string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	var cleanup func()
	var err error
	sentryBin, cleanup, err = sentryproc.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	injectorBin, cleanup, err = injectorproc.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	return m.Run()
}
