package e2e

import (
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/proc"
)

// The binaries under test, built once for the package.
var sentryBin, injectorBin string

func TestMain(m *testing.M) {
	os.Exit(proc.Main(m,
		proc.Binary{Pkg: "github.com/trustplane/trustplane/cmd/sentry", Path: &sentryBin},
		proc.Binary{Pkg: "github.com/trustplane/trustplane/cmd/injector", Path: &injectorBin},
	))
}
