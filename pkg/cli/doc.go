// Package cli runs a trustplane daemon's command line the same way for
// every binary: cobra flags, Dapr's single-dash long flags (-port) accepted,
// a usage error (bad flag or option) exits 2 with a hint, a failed run exits
// 1, a graceful stop exits 0.
//
//	os.Exit(cli.Main(ctx, cli.Command{Name: "sentry", AddFlags: o.AddFlags, Prepare: ..., Run: ...}, os.Args[1:], os.Stderr))
package cli
