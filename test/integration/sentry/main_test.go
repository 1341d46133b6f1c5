package sentry

import (
	"os"
	"testing"

	"github.com/trustplane/trustplane/test/proc"
)

// The binaries under test, built once for the package: the self-hosted
// tests run the standalone build (what `make run` and the benchmark run);
// fullSentryBin is the build with Kubernetes mode, the container image's.
var sentryBin, fullSentryBin string

func TestMain(m *testing.M) {
	os.Exit(proc.Main(m,
		proc.Binary{Pkg: "github.com/trustplane/trustplane/cmd/sentry", Path: &sentryBin, Tags: []string{"standalone"}},
		proc.Binary{Pkg: "github.com/trustplane/trustplane/cmd/sentry", Path: &fullSentryBin},
	))
}
