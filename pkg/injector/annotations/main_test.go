package annotations

import "flag"

// update is accepted so "go test ./pkg/injector/... -update" works; the
// golden files live in pkg/injector/sidecar.
var _ = flag.Bool("update", false, "rewrite golden files (none in this package)")
