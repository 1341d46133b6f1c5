package rotation

import (
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/proc"
)

// sentryBin is the binary under test, built once for the package.
var sentryBin string

func TestMain(m *testing.M) {
	os.Exit(proc.Main(m, proc.Binary{Pkg: "github.com/trustplane/trustplane/cmd/sentry", Path: &sentryBin}))
}
