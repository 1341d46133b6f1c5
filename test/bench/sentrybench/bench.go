package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

type config struct {
	sentryBin      string
	duration       time.Duration
	warmup         time.Duration
	profile        string // file for a CPU profile of sentry during one phase; "" for none
	profileC       int    // the concurrency of the profiled phase
	clientProfile  string // file for a CPU profile of this load generator during that phase
	concurrency    []int  // the one-connection phases
	newConnections bool   // run the new-connection-per-request phase
	extraStarts    int    // further starts on fresh directories, for the time to the first sign
	baseline       bool   // measure a no-op call first
}

type csrItem struct {
	pub crypto.PublicKey
	pem []byte
}

// result is one phase's measurements.
type result struct {
	name      string
	signs     int
	elapsed   time.Duration
	latencies []time.Duration
	cpu       time.Duration // sentry's CPU time
	clientCPU time.Duration // this process's CPU time (the load generator)
	steal     float64       // share of the machine's CPU time stolen by the hypervisor
}

var sentryID = spiffeid.RequireFromString("spiffe://cluster.local/ns/default/dapr-sentry")

func run(ctx context.Context, cfg config) error {
	dir, err := os.MkdirTemp("", "sentrybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + port
	var extra []string
	profilePort := ""
	if cfg.profile != "" {
		if profilePort, err = freePort(); err != nil {
			return err
		}
		extra = append(extra, "--profile-port", profilePort)
		defer func() { fmt.Println("profile written to", cfg.profile) }()
	}

	if cfg.baseline {
		p50, p90, err := baseline(ctx, 5000)
		if err != nil {
			return err
		}
		fmt.Printf("baseline, a no-op gRPC+TLS call to another process at c=1: p50 %.3f ms, p90 %.3f ms\n", ms(p50), ms(p90))
	}
	pool := newCSRPool()
	pool.fill(2000)
	starts, err := startupRuns(ctx, cfg, pool)
	if err != nil {
		return err
	}

	cmd := sentryCommand(cfg, dir, port, extra...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sentry: %w", err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	pid := cmd.Process.Pid

	anchors, first, err := firstSign(ctx, dir, addr, pool.take())
	if err != nil {
		return err
	}
	starts = append(starts, first.Sub(start))
	printStarts(starts)
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("RSS idle: %.1f MiB\n", mib(procStatus(pid, "VmRSS")))

	conn, err := dial(addr, anchors)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := sentryv1.NewCAClient(conn)

	var results []result
	for _, c := range cfg.concurrency {
		pool.fill(60000)
		name := fmt.Sprintf("c=%d, one connection", c)
		var stopProfile func() error
		if c == cfg.profileC && cfg.profile != "" {
			stopProfile = startProfile(profilePort, cfg.profile, cfg.warmup+cfg.duration)
		}
		stopClientProfile := func() {}
		if c == cfg.profileC && cfg.clientProfile != "" {
			if stopClientProfile, err = startClientProfile(cfg.clientProfile); err != nil {
				return err
			}
		}
		r, err := phase(ctx, name, pid, c, cfg, pool, anchors, func() (sentryv1.CAClient, func(), error) { return client, func() {}, nil })
		stopClientProfile()
		if err != nil {
			return err
		}
		if stopProfile != nil {
			if err := stopProfile(); err != nil {
				return err
			}
		}
		results = append(results, r)
	}
	if cfg.newConnections {
		pool.fill(20000)
		var stopProfile func() error
		if cfg.profileC == 0 && cfg.profile != "" {
			stopProfile = startProfile(profilePort, cfg.profile, cfg.warmup+cfg.duration)
		}
		r, err := phase(ctx, "c=8, new connection per request", pid, 8, cfg, pool, anchors, func() (sentryv1.CAClient, func(), error) {
			cc, err := dial(addr, anchors)
			if err != nil {
				return nil, nil, err
			}
			return sentryv1.NewCAClient(cc), func() { cc.Close() }, nil
		})
		if err != nil {
			return err
		}
		if stopProfile != nil {
			if err := stopProfile(); err != nil {
				return err
			}
		}
		results = append(results, r)
	}

	fmt.Printf("RSS loaded: %.1f MiB now, %.1f MiB peak (VmHWM)\n", mib(procStatus(pid, "VmRSS")), mib(procStatus(pid, "VmHWM")))
	fmt.Printf("%-36s %10s %9s %9s %9s %12s %12s %7s %8s\n", "phase", "signs/s", "p50 ms", "p90 ms", "p99 ms", "CPU/sign µs", "client µs", "steal", "signs")
	for _, r := range results {
		sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
		fmt.Printf("%-36s %10.0f %9.3f %9.3f %9.3f %12.1f %12.1f %6.1f%% %8d\n", r.name, float64(r.signs)/r.elapsed.Seconds(),
			ms(pct(r.latencies, 50)), ms(pct(r.latencies, 90)), ms(pct(r.latencies, 99)),
			float64(r.cpu.Microseconds())/float64(r.signs), float64(r.clientCPU.Microseconds())/float64(r.signs), 100*r.steal, r.signs)
	}
	fmt.Println("every response verified: chain to the anchors, SPIFFE ID, public key")
	return nil
}

func dial(addr string, anchors *x509bundle.Bundle) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(
		tlsconfig.TLSClientConfig(anchors, tlsconfig.AuthorizeID(sentryID)))))
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// csrPool holds pre-generated fresh CSRs so that generating them does not
// compete with sentry for the CPU during a measured phase.
type csrPool struct{ ch chan csrItem }

func newCSRPool() *csrPool { return &csrPool{ch: make(chan csrItem, 200000)} }

func (p *csrPool) fill(n int) {
	for len(p.ch) < n {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		if err != nil {
			panic(err)
		}
		p.ch <- csrItem{pub: key.Public(), pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})}
	}
}

// take returns a CSR never used before, generating one if the pool is dry.
func (p *csrPool) take() csrItem {
	select {
	case it := <-p.ch:
		return it
	default:
		p.fill(1)
		return <-p.ch
	}
}

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[(len(l)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
