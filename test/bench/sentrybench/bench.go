package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	sentryBin     string
	daprBin       string   // "" runs ours alone
	keyAlgorithms []string // our sentry's --key-algorithm, one server each
	csrKey        string   // ed25519 or ecdsa-p256
	phases        []phaseSpec
	duration      time.Duration // measured, per server and phase
	rounds        int
	warmup        time.Duration // per server, at the start of each phase
	leadIn        time.Duration // per slice
	starts        int           // per kind
	baseline      bool
	profile       string // file for a CPU profile of our first server; "" for none
	clientProfile string // file for a CPU profile of this load generator
	profilePhase  string
	profiled      phaseSpec
}

func run(ctx context.Context, cfg config) error {
	ks := kinds(cfg)
	for _, k := range ks {
		if fi, err := os.Stat(k.bin); err != nil || fi.IsDir() {
			hint := "make build"
			if k.dapr {
				hint = "make dapr-tools; --dapr-sentry= runs ours alone"
			}
			return fmt.Errorf("%s sentry %s: not a file (%s)", k.name, k.bin, hint)
		}
	}
	root, err := os.MkdirTemp("", "sentrybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)

	fmt.Printf("sentrybench %s, %s\n", strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Printf("machine: %d CPUs (%s), load average %s; load generator %s\n", runtime.NumCPU(), cpuModel(), loadavg(), runtime.Version())
	for _, k := range ks {
		fmt.Printf("  %-14s %s %s\n", k.name, k.bin, strings.Join(k.args, " "))
	}
	fmt.Printf("CSRs: fresh %s keys, one per request; insecure validator; %v measured per server and phase in %d slices (+%v lead-in each), order mirrored every other round\n",
		shortAlg(cfg.csrKey), cfg.duration, cfg.rounds, cfg.leadIn)

	if cfg.baseline {
		p50, p90, err := baseline(ctx, 5000)
		if err != nil {
			return err
		}
		fmt.Printf("baseline, a no-op gRPC+TLS call to another process at c=1: p50 %.3f ms, p90 %.3f ms\n", ms(p50), ms(p90))
	}
	pool := newCSRPool(cfg.csrKey)
	pool.fill(2000)
	if cfg.starts > 0 {
		starts, err := startupRuns(ctx, ks, cfg.starts, root, pool)
		if err != nil {
			return err
		}
		fmt.Println("first successful sign after exec (fresh directory: generates its CA):")
		printStarts(ks, starts)
	}

	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	profilePort := ""
	for i, k := range ks {
		var extra []string
		if i == 0 && cfg.profile != "" {
			if profilePort, err = freePort(); err != nil {
				return err
			}
			extra = []string{"--profile-port", profilePort}
		}
		s, _, err := start(ctx, k, root, pool, extra...)
		if err != nil {
			return err
		}
		servers = append(servers, s)
		if err := s.connect(); err != nil {
			return err
		}
	}
	for _, s := range servers {
		if n := s.settle(ctx); n > 0 {
			fmt.Printf("%s reloaded its issuer credentials %d times after generating them (its file watcher); waited until it was quiet\n", s.name, n)
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, s := range servers {
		s.idleRSS = procStatus(s.pid, "VmRSS")
	}

	loadBefore, machine0 := loadavg(), readCPUStat()
	results := map[phaseSpec]map[string]*agg{}
	var measuredDry int64
	sliceWindow := cfg.duration / time.Duration(cfg.rounds)
	for _, p := range cfg.phases {
		fmt.Fprintf(os.Stderr, "phase %s ...\n", p)
		res := map[string]*agg{}
		results[p] = res
		est := map[string]float64{}
		for _, s := range servers {
			res[s.name] = &agg{}
			res[s.name].peakIsPhase = resetPeakRSS(s.pid)
			est[s.name] = 10000
			if p.newConn {
				est[s.name] = 2000
			}
		}
		for _, s := range servers {
			pool.fill(need(est[s.name], cfg.warmup, p.c))
			sl, err := runSlice(ctx, s, p, cfg.warmup, 0, pool)
			if err != nil {
				return err
			}
			est[s.name] = float64(sl.all) / sl.wall.Seconds()
		}
		for r := range cfg.rounds {
			for _, s := range order(servers, r) {
				pool.fill(need(est[s.name], cfg.leadIn+sliceWindow, p.c))
				dry := pool.dry.Load()
				sl, err := runSlice(ctx, s, p, cfg.leadIn, sliceWindow, pool)
				measuredDry += pool.dry.Load() - dry
				if err != nil {
					return err
				}
				est[s.name] = max(est[s.name], float64(sl.all)/sl.wall.Seconds())
				res[s.name].add(sl)
			}
		}
		for _, s := range servers {
			res[s.name].peakRSS = procStatus(s.pid, "VmHWM")
		}
	}
	machine := readCPUStat().since(machine0)

	rep := report{cfg: cfg, servers: servers, results: results}
	rep.print(loadBefore, loadavg(), machine)
	if measuredDry > 0 {
		fmt.Printf("note: %d CSRs were generated during measured slices (the pool ran dry): the load generator's CPU is overstated\n", measuredDry)
	}
	fmt.Println("every counted response verified: chain to the anchors, SPIFFE ID, public key")

	if cfg.profile != "" || cfg.clientProfile != "" {
		return profileRun(ctx, cfg, servers[0], profilePort, pool)
	}
	return nil
}

// need is the number of CSRs a slice of d at rate may take, with margin.
func need(rate float64, d time.Duration, c int) int {
	return min(int(rate*d.Seconds()*1.5)+2*c+100, poolCap)
}

// profileRun drives our first server alone at cfg.profiled for warmup +
// duration while its pprof endpoint and/or this process record a CPU
// profile.
func profileRun(ctx context.Context, cfg config, s *server, profilePort string, pool *csrPool) error {
	d := cfg.warmup + cfg.duration
	fmt.Printf("profiling %s alone at %s for %v\n", s.name, cfg.profiled, d)
	pool.fill(need(10000, d, cfg.profiled.c))
	var wait func() error
	if cfg.profile != "" {
		wait = startProfile(profilePort, cfg.profile, d)
	}
	stopClient := func() {}
	if cfg.clientProfile != "" {
		var err error
		if stopClient, err = startClientProfile(cfg.clientProfile); err != nil {
			return err
		}
	}
	sl, err := runSlice(ctx, s, cfg.profiled, cfg.warmup, cfg.duration, pool)
	stopClient()
	if err != nil {
		return err
	}
	fmt.Printf("  %.0f signs/s, %.1f µs of server CPU per sign\n", float64(sl.signs)/sl.window.Seconds(), perSign(sl.cpu, sl.signs))
	if wait != nil {
		if err := wait(); err != nil {
			return err
		}
		fmt.Println("sentry's profile written to", cfg.profile)
	}
	if cfg.clientProfile != "" {
		fmt.Println("load generator's profile written to", cfg.clientProfile)
	}
	return nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

type csrItem struct {
	pub crypto.PublicKey
	pem []byte
}

const poolCap = 200000

// csrPool holds pre-generated fresh CSRs so that generating them does not
// compete with sentry for the CPU during a measured slice.
type csrPool struct {
	key string
	ch  chan csrItem
	dry atomic.Int64 // CSRs generated on demand because the pool was empty
}

func newCSRPool(key string) *csrPool {
	return &csrPool{key: key, ch: make(chan csrItem, poolCap)}
}

func (p *csrPool) newItem() csrItem {
	var key crypto.Signer
	var err error
	if p.key == "ecdsa-p256" {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		_, key, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		panic(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		panic(err)
	}
	return csrItem{pub: key.Public(), pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})}
}

// fill tops the pool up to n CSRs, on every CPU.
func (p *csrPool) fill(n int) {
	missing := min(n, poolCap) - len(p.ch)
	if missing <= 0 {
		return
	}
	workers := runtime.NumCPU()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range missing/workers + boolInt(w < missing%workers) {
				p.ch <- p.newItem()
			}
		}()
	}
	wg.Wait()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// take returns a CSR never used before, generating one if the pool is dry.
func (p *csrPool) take() csrItem {
	select {
	case it := <-p.ch:
		return it
	default:
		p.dry.Add(1)
		return p.newItem()
	}
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
