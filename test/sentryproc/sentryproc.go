package sentryproc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

// Build compiles cmd/sentry into a temporary directory.
func Build() (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "sentry-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "sentry")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/trustplane/trustplane/cmd/sentry")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build sentry: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// Options describe one sentry process.
type Options struct {
	// Args are sentry's flags; the listen addresses and ports are added.
	Args []string
	// Env is added to the test's environment.
	Env []string
	// ID is the SPIFFE ID Sentry serves with. Default
	// spiffe://cluster.local/ns/default/dapr-sentry.
	ID spiffeid.ID
}

// Proc is a running sentry.
type Proc struct {
	GRPCAddr, HealthAddr, MetricsAddr string
	ID                                spiffeid.ID
	Logs                              *Buffer

	cmd  *exec.Cmd
	done chan struct{}
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// Launch starts sentry without waiting for it; it is stopped (SIGTERM)
// when the test ends, and its logs are printed if the test failed.
func Launch(t testing.TB, bin string, o Options) *Proc {
	t.Helper()
	p := &Proc{ID: o.ID, Logs: &Buffer{}, done: make(chan struct{})}
	if p.ID.IsZero() {
		p.ID = spiffeid.RequireFromString("spiffe://cluster.local/ns/default/dapr-sentry")
	}
	grpcPort, healthPort, metricPort := freePort(t), freePort(t), freePort(t)
	p.GRPCAddr, p.HealthAddr, p.MetricsAddr = "127.0.0.1:"+grpcPort, "127.0.0.1:"+healthPort, "127.0.0.1:"+metricPort
	args := append([]string{
		"--listen-address", "127.0.0.1", "--port", grpcPort,
		"--healthz-listen-address", "127.0.0.1", "--healthz-port", healthPort,
		"--metrics-listen-address", "127.0.0.1", "--metrics-port", metricPort,
	}, o.Args...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), o.Env...)
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("sentry logs:\n%s", p.Logs.String())
		}
	})
	return p
}

// Start launches sentry and waits until /readyz answers 200.
func Start(t testing.TB, bin string, o Options) *Proc {
	t.Helper()
	p := Launch(t, bin, o)
	p.WaitReady(t)
	return p
}

// Stop sends SIGTERM and waits (killing after 15s). It returns the exit code.
func (p *Proc) Stop(t testing.TB) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.cmd.ProcessState.ExitCode()
}

// ExitCode waits for sentry to exit by itself and returns its code.
func (p *Proc) ExitCode(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("sentry did not exit; logs:\n%s", p.Logs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// WaitReady waits up to 60s for /readyz to answer 200.
func (p *Proc) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("sentry exited early; logs:\n%s", p.Logs.String())
		default:
		}
		if resp, err := http.Get("http://" + p.HealthAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sentry not ready in time; logs:\n%s", p.Logs.String())
}

// Client dials sentry, trusting anchorsPEM and authorizing its SPIFFE ID.
func (p *Proc) Client(t testing.TB, anchorsPEM []byte) sentryv1.CAClient {
	t.Helper()
	b, err := x509bundle.Parse(p.ID.TrustDomain(), anchorsPEM)
	require.NoError(t, err)
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(
		credentials.NewTLS(tlsconfig.TLSClientConfig(b, tlsconfig.AuthorizeID(p.ID)))))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return sentryv1.NewCAClient(conn)
}

// Metrics returns the Prometheus exposition.
func (p *Proc) Metrics(t testing.TB) string {
	t.Helper()
	resp, err := http.Get("http://" + p.MetricsAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// Context is a 30s context tied to the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
