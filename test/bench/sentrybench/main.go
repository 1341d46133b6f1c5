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
	"strconv"
	"strings"
	"time"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.sentryBin, "sentry", "bin/sentry", "path of the sentry binary")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each measured phase")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured warm-up before each phase")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of sentry during one phase (see --profile-concurrency) to this file")
	flag.IntVar(&cfg.profileC, "profile-concurrency", 64, "concurrency of the one-connection phase that --cpuprofile profiles (1, 8 or 64; 0: the new-connection phase)")
	flag.StringVar(&cfg.clientProfile, "client-cpuprofile", "", "write a CPU profile of this load generator during the --profile-concurrency phase to this file")
	flag.BoolVar(&cfg.newConnections, "new-connections", true, "run the c=8 phase with a new connection per request")
	flag.IntVar(&cfg.extraStarts, "starts", 10, "extra starts of sentry on fresh directories before the load phases, for the median time to the first sign")
	concurrency := flag.String("concurrency", "1,8,64", "comma-separated concurrencies of the one-connection phases")
	flag.BoolVar(&cfg.baseline, "baseline", true, "measure a no-op gRPC+TLS call to another process first: the machine's floor for the c=1 latency")
	noopServer := flag.String("noop-server", "", "internal: serve the baseline's no-op gRPC service on this address")
	flag.Parse()
	if *noopServer != "" {
		if err := serveNoop(*noopServer); err != nil {
			fmt.Fprintln(os.Stderr, "sentrybench:", err)
			os.Exit(1)
		}
		return
	}
	for _, f := range strings.Split(*concurrency, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			fmt.Fprintf(os.Stderr, "sentrybench: --concurrency %q: want positive integers\n", *concurrency)
			os.Exit(2)
		}
		cfg.concurrency = append(cfg.concurrency, c)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sentrybench:", err)
		os.Exit(1)
	}
}
