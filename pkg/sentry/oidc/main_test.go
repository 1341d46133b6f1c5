package oidc_test

import (
	"testing"

	"go.uber.org/goleak"
)

// jwk.Fetch, the relying party's view in these tests, starts the library's
// package-level fetch workers, which live for the process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/lestrrat-go/httprc.runFetchWorker"))
}
