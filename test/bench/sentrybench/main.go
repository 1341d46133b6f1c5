// Command sentrybench drives SignCertificate on real sentry processes and
// compares ours with Dapr v1.18.3's own sentry in the same run: the same
// load generator, self-hosted, the insecure validator, a fresh CSR per
// request (Ed25519 by default, as daprd v1.18 sends), alternating between
// the servers in short slices so that the machine's drift (other processes,
// CPU steal) falls on all of them alike.
//
// Phases: one shared TLS connection at c=1 and c=64, and a new TLS
// connection per sign (daprd's pattern: dial, full handshake, one call,
// close) at c=8 and c=64. Each row reports signs/s, server CPU per sign
// (/proc/<pid>/stat) and peak RSS (VmHWM) of each server, and the ratios.
// Every response is verified (chain to the anchors, SPIFFE ID, key).
//
//	go run ./test/bench/sentrybench --sentry bin/sentry-standalone
//
// --dapr-sentry defaults to the binary make dapr-tools builds (see
// test/daprbin); --dapr-sentry= runs ours alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/trustplane/trustplane/test/daprbin"
)

func main() {
	var cfg config
	defaultDapr := ""
	if dir := daprbin.Dir(); dir != "" {
		defaultDapr = filepath.Join(dir, daprbin.Sentry)
	}
	flag.StringVar(&cfg.sentryBin, "sentry", "bin/sentry-standalone", "path of our sentry binary")
	flag.StringVar(&cfg.daprBin, "dapr-sentry", defaultDapr, "path of Dapr's sentry binary (make dapr-tools builds it; $DAPR_BIN overrides the directory); empty: ours alone")
	keyAlgs := flag.String("key-algorithms", "ed25519,ecdsa-p256", "comma-separated --key-algorithm values to run our sentry with, each as its own server (Dapr's is Ed25519 only)")
	flag.StringVar(&cfg.csrKey, "csr-key", "ed25519", "key type of the CSRs: ed25519 (what daprd v1.18 sends) or ecdsa-p256")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured time per server and phase, split into --rounds slices")
	flag.IntVar(&cfg.rounds, "rounds", 6, "slices per server and phase; the order of the servers is mirrored every other round (A B C, C B A, ...)")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured warm-up of each server at the start of each phase")
	flag.DurationVar(&cfg.leadIn, "lead-in", 200*time.Millisecond, "unmeasured start of every slice")
	concurrency := flag.String("concurrency", "1,64", "comma-separated concurrencies of the one-shared-connection phases (empty: none)")
	newConcurrency := flag.String("new-concurrency", "8,64", "comma-separated concurrencies of the new-connection-per-sign phases (empty: none)")
	newConnections := flag.Bool("new-connections", true, "run the new-connection-per-sign phases")
	flag.IntVar(&cfg.starts, "starts", 5, "starts of each server on fresh directories, alternating, for the median time from exec to the first sign (0: none)")
	flag.BoolVar(&cfg.baseline, "baseline", true, "measure a no-op gRPC+TLS call to another process first: the machine's floor for the c=1 latency")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "after the comparison, run --profile-phase against our first server alone and write its CPU profile to this file")
	flag.StringVar(&cfg.profilePhase, "profile-phase", "new/64", "the phase --cpuprofile and --client-cpuprofile profile: shared/C or new/C")
	flag.StringVar(&cfg.clientProfile, "client-cpuprofile", "", "write a CPU profile of this load generator during the profiled run to this file")
	noopServer := flag.String("noop-server", "", "internal: serve the baseline's no-op gRPC service on this address")
	flag.Parse()
	if *noopServer != "" {
		if err := serveNoop(*noopServer); err != nil {
			fmt.Fprintln(os.Stderr, "sentrybench:", err)
			os.Exit(1)
		}
		return
	}

	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "sentrybench: "+format+"\n", args...)
		os.Exit(2)
	}
	for _, c := range ints(*concurrency, fail, "--concurrency") {
		cfg.phases = append(cfg.phases, phaseSpec{c: c})
	}
	if *newConnections {
		for _, c := range ints(*newConcurrency, fail, "--new-concurrency") {
			cfg.phases = append(cfg.phases, phaseSpec{c: c, newConn: true})
		}
	}
	if len(cfg.phases) == 0 {
		fail("no phase to run")
	}
	for _, a := range strings.Split(*keyAlgs, ",") {
		a = strings.TrimSpace(a)
		if a != "ed25519" && a != "ecdsa-p256" {
			fail("--key-algorithms %q: want ed25519 and/or ecdsa-p256", *keyAlgs)
		}
		cfg.keyAlgorithms = append(cfg.keyAlgorithms, a)
	}
	if cfg.csrKey != "ed25519" && cfg.csrKey != "ecdsa-p256" {
		fail("--csr-key %q: want ed25519 or ecdsa-p256", cfg.csrKey)
	}
	if cfg.rounds < 1 || cfg.duration <= 0 {
		fail("--rounds and --duration must be positive")
	}
	if cfg.profile != "" || cfg.clientProfile != "" {
		p, err := parsePhase(cfg.profilePhase)
		if err != nil {
			fail("--profile-phase: %v", err)
		}
		cfg.profiled = p
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sentrybench:", err)
		os.Exit(1)
	}
}

func ints(s string, fail func(string, ...any), flagName string) []int {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, f := range strings.Split(s, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			fail("%s %q: want positive integers", flagName, s)
		}
		out = append(out, c)
	}
	return out
}

func parsePhase(s string) (phaseSpec, error) {
	kind, c, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(c)
	if !ok || err != nil || n < 1 || (kind != "shared" && kind != "new") {
		return phaseSpec{}, fmt.Errorf("%q: want shared/C or new/C", s)
	}
	return phaseSpec{c: n, newConn: kind == "new"}, nil
}
