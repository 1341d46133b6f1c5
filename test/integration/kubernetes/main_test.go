package kubernetes

import (
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/proc"
)

// The binaries under test, built once for the package.
var sentryBin string

func TestMain(m *testing.M) {
	os.Exit(proc.Main(m,
		proc.Binary{Pkg: "github.com/trustplane/trustplane/cmd/sentry", Path: &sentryBin},
	))
}
