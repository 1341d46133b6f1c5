package kubernetes

import (
	"fmt"
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/sentryproc"
)

// sentryBin is the binary under test, built once by TestMain.
var sentryBin string

func TestMain(m *testing.M) {
	bin, cleanup, err := sentryproc.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sentryBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}
