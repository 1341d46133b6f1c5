package conformance

import (
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/proc"
)

// sentryBin is our Sentry, the full build (the container image's).
var sentryBin string

func TestMain(m *testing.M) {
	os.Exit(proc.Main(m, proc.Binary{Pkg: "github.com/trustplane/trustplane/cmd/sentry", Path: &sentryBin}))
}
