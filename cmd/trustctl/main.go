// Command trustctl inspects and renews the mTLS certificates of a Dapr
// control plane in Kubernetes. See cmd/trustctl/app for the exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.Env{Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
