package jwtrotation

import (
	"fmt"
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/sentryproc"
)

// sentryBin is the binary under test, built once by TestMain.
var sentryBin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	bin, cleanup, err := sentryproc.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build sentry:", err)
		return 1
	}
	defer cleanup()
	sentryBin = bin
	return m.Run()
}
