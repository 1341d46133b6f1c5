// Command sentrybench starts a real sentry and drives SignCertificate with
// fresh ECDSA P-256 CSRs: at concurrency 1, 8 and 64 over one TLS
// connection, and with a new connection per request. It verifies every
// response (chain to the anchors, SPIFFE ID, key) and prints signs/s,
// p50/p90/p99 latency, server CPU per sign, RSS idle and loaded, and the
// time from exec to the first successful sign.
//
//	go run ./test/bench/sentrybench --sentry ./bin/sentry
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.sentryBin, "sentry", "bin/sentry", "path of the sentry binary")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each measured phase")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured warm-up before each phase")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of sentry during the c=64 phase to this file")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sentrybench:", err)
		os.Exit(1)
	}
}
