package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"
)

// The baseline is this machine's floor for the c=1 latency: a no-op unary
// gRPC call over TLS on loopback to another process (this binary, run with
// --noop-server), one at a time. Sentry's c=1 p50 is that plus its work
// (a CSR signature check and a signing, ~160 µs of P-256 on a warm core).

// serveNoop serves the gRPC health service over TLS on addr until killed.
func serveNoop(addr string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"noop"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	})))
	healthv1.RegisterHealthServer(gs, health.NewServer())
	return gs.Serve(ln)
}

// baseline starts the no-op server and returns the p50 and p90 of n calls
// after a warm-up.
func baseline(ctx context.Context, n int) (p50, p90 time.Duration, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	port, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	addr := "127.0.0.1:" + port
	cmd := exec.Command(self, "--noop-server", addr)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	// The server pins its certificate nowhere: this measures transport cost only.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	client := healthv1.NewHealthClient(conn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := client.Check(cctx, &healthv1.HealthCheckRequest{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("no-op server: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var lat []time.Duration
	for i := range n + n/5 {
		t0 := time.Now()
		if _, err := client.Check(ctx, &healthv1.HealthCheckRequest{}); err != nil {
			return 0, 0, fmt.Errorf("no-op call: %w", err)
		}
		if i >= n/5 {
			lat = append(lat, time.Since(t0))
		}
	}
	slices.Sort(lat)
	return pct(lat, 50), pct(lat, 90), nil
}
