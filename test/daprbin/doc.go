// Package daprbin finds the Dapr control-plane binaries, the daprsvid
// driver and Dapr's Helm chart that hack/dapr-assets.sh (make dapr-tools)
// builds from the pinned module in hack/tools/dapr, for tests that compare
// trustplane with the real Dapr:
//
//	sentry := daprbin.Path(t, daprbin.Sentry) // fails the test loudly when missing
//	chart := daprbin.ChartDir(t)              // a copy of Dapr's charts/dapr
//
// They live outside the clone, in $DAPR_BIN or the user cache directory, so
// fresh clones on one machine share them. A missing binary fails the test:
// nothing here ever skips.
package daprbin
