// Command sentry is trustplane's certificate authority: it signs SPIFFE
// X.509 workload certificates over Dapr's dapr.proto.sentry.v1.CA API.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/trustplane/trustplane/cmd/sentry/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	stop()
	os.Exit(code)
}
