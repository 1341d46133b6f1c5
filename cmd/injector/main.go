// Command injector is trustplane's sidecar injector: a mutating admission
// webhook that adds Dapr's daprd sidecar to opted-in pods, serving with a
// certificate from trustplane's Sentry.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/trustplane/trustplane/cmd/injector/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	stop()
	os.Exit(code)
}
