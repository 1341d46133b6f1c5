package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

// startupRuns starts sentry cfg.extraStarts times, each on a fresh
// directory (so it generates its CA), and returns the time from exec to
// the first successful sign of each. The time is noisy on a shared VM
// (page faults of the binary, fsyncs), hence several starts.
func startupRuns(ctx context.Context, cfg config, pool *csrPool) ([]time.Duration, error) {
	var starts []time.Duration
	for range cfg.extraStarts {
		d, err := startOnce(ctx, cfg, pool)
		if err != nil {
			return nil, err
		}
		starts = append(starts, d)
	}
	return starts, nil
}

func startOnce(ctx context.Context, cfg config, pool *csrPool) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "sentrybench-start-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	cmd := sentryCommand(cfg, dir, port)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start sentry: %w", err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	_, first, err := firstSign(ctx, dir, "127.0.0.1:"+port, pool.take())
	if err != nil {
		return 0, err
	}
	return first.Sub(start), nil
}

// printStarts prints the median, min and max time to the first sign.
func printStarts(starts []time.Duration) {
	s := slices.Clone(starts)
	slices.Sort(s)
	if len(s) == 1 {
		fmt.Printf("first successful sign after exec: %.1f ms\n", ms(s[0]))
		return
	}
	fmt.Printf("first successful sign after exec: median %.1f ms, min %.1f, max %.1f over %d starts\n",
		ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]), len(s))
}

// firstSign polls until sentry has written its anchors and signs a CSR.
func firstSign(ctx context.Context, dir, addr string, item csrItem) (*x509bundle.Bundle, time.Time, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
		if err != nil || len(data) == 0 {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		anchors, err := x509bundle.Parse(sentryID.TrustDomain(), data)
		if err != nil {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		conn, err := dial(addr, anchors)
		if err != nil {
			return nil, time.Time{}, err
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err = sentryv1.NewCAClient(conn).SignCertificate(cctx, &sentryv1.SignCertificateRequest{Id: "bench", Namespace: "default", CertificateSigningRequest: item.pem})
		cancel()
		conn.Close()
		if err == nil {
			return anchors, time.Now(), nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil, time.Time{}, errors.New("sentry did not sign within 10s")
}

// sentryCommand is sentry self-hosted on dir, serving on 127.0.0.1:port
// without health or metrics servers, dying with this process.
func sentryCommand(cfg config, dir, port string, extra ...string) *exec.Cmd {
	args := append([]string{"--issuer-credentials", dir, "--trust-domain", "cluster.local", "--listen-address", "127.0.0.1",
		"--port", port, "--healthz-port", "0", "--enable-metrics=false", "--log-level", "warn"}, extra...)
	cmd := exec.Command(cfg.sentryBin, args...)
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), "NAMESPACE=default")
	cmd.SysProcAttr = dieWithParent()
	return cmd
}

// dieWithParent makes the kernel stop sentry if this process dies without
// stopping it (a pipe closed under it, a kill).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
