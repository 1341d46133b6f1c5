package sentry

import (
	"bytes"
	"context"
	"crypto/x509"
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

// sentryProc is a running sentry process.
type sentryProc struct {
	dir        string // --issuer-credentials
	grpcAddr   string
	healthAddr string
	metricAddr string
	id         spiffeid.ID
	cmd        *exec.Cmd
	logs       *syncBuffer
	done       chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// startSentry starts sentry on dir with extra flags and waits until it is
// ready. It is stopped (SIGTERM) when the test ends.
func startSentry(t *testing.T, dir string, args ...string) *sentryProc {
	t.Helper()
	p := launch(t, dir, args...)
	p.waitReady(t)
	return p
}

// launch starts sentry without waiting for it.
func launch(t *testing.T, dir string, args ...string) *sentryProc {
	t.Helper()
	p := &sentryProc{dir: dir, logs: &syncBuffer{}, done: make(chan struct{})}
	grpcPort, healthPort, metricPort := freePort(t), freePort(t), freePort(t)
	p.grpcAddr = "127.0.0.1:" + grpcPort
	p.healthAddr = "127.0.0.1:" + healthPort
	p.metricAddr = "127.0.0.1:" + metricPort
	p.id = spiffeid.RequireFromString("spiffe://cluster.local/ns/default/dapr-sentry")
	all := append([]string{
		"--issuer-credentials", dir,
		"--trust-domain", "cluster.local",
		"--listen-address", "127.0.0.1", "--port", grpcPort,
		"--healthz-listen-address", "127.0.0.1", "--healthz-port", healthPort,
		"--metrics-listen-address", "127.0.0.1", "--metrics-port", metricPort,
	}, args...)
	p.cmd = exec.Command(sentryBin, all...)
	p.cmd.Env = append(os.Environ(), "NAMESPACE=default")
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("sentry logs:\n%s", p.logs.String())
		}
	})
	return p
}

// exitCode waits for the process to exit by itself and returns its code.
func (p *sentryProc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("sentry did not exit; logs:\n%s", p.logs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *sentryProc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("sentry exited early; logs:\n%s", p.logs.String())
		default:
		}
		resp, err := http.Get("http://" + p.healthAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sentry not ready in time; logs:\n%s", p.logs.String())
}

// anchors reads the trust anchors sentry uses from its directory.
func (p *sentryProc) anchors(t *testing.T) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.dir, "ca.crt"))
	require.NoError(t, err)
	b, err := x509bundle.Parse(p.id.TrustDomain(), data)
	require.NoError(t, err)
	return b.X509Authorities()
}

// client dials sentry, trusting its anchors and authorizing its SPIFFE ID.
func (p *sentryProc) client(t *testing.T) sentryv1.CAClient {
	t.Helper()
	b := x509bundle.FromX509Authorities(p.id.TrustDomain(), p.anchors(t))
	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(
		credentials.NewTLS(tlsconfig.TLSClientConfig(b, tlsconfig.AuthorizeID(p.id)))))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return sentryv1.NewCAClient(conn)
}

func (p *sentryProc) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + p.metricAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}
