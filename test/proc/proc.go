package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Build compiles the command package pkg (for example
// github.com/trustplane/trustplane/cmd/sentry) with the build tags into a
// temporary directory, statically (CGO off) as `make build` and the image do.
func Build(pkg string, tags ...string) (bin string, cleanup func(), err error) {
	name := filepath.Base(pkg)
	dir, err := os.MkdirTemp("", name+"-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build %s: %w", name, err)
	}
	return bin, func() { _ = os.RemoveAll(dir) }, nil
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
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

// FreePort returns a port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Proc is a running binary with health and metrics endpoints.
type Proc struct {
	// HealthAddr and MetricsAddr are host:port on 127.0.0.1.
	HealthAddr, MetricsAddr string
	// Logs holds stdout and stderr.
	Logs *Buffer

	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// Launch starts bin with args (after the health and metrics flags it adds)
// and env (added to the test's), without waiting for it. It is stopped with
// SIGTERM when the test ends, and its logs are printed if the test failed.
func Launch(t testing.TB, bin string, args, env []string) *Proc {
	t.Helper()
	health, metrics := FreePort(t), FreePort(t)
	p := &Proc{
		HealthAddr:  fmt.Sprintf("127.0.0.1:%d", health),
		MetricsAddr: fmt.Sprintf("127.0.0.1:%d", metrics),
		Logs:        &Buffer{},
		name:        filepath.Base(bin),
		done:        make(chan struct{}),
	}
	all := append([]string{
		"--healthz-listen-address", "127.0.0.1", "--healthz-port", strconv.Itoa(health),
		"--metrics-listen-address", "127.0.0.1", "--metrics-port", strconv.Itoa(metrics),
	}, args...)
	p.cmd = exec.Command(bin, all...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("%s logs:\n%s", p.name, p.Logs.String())
		}
	})
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

// ExitCode waits for the process to exit by itself and returns its code.
func (p *Proc) ExitCode(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit; logs:\n%s", p.name, p.Logs.String())
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
			t.Fatalf("%s exited early; logs:\n%s", p.name, p.Logs.String())
		default:
		}
		if resp, err := http.Get("http://" + p.HealthAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not ready in time; logs:\n%s", p.name, p.Logs.String())
}

// Readyz returns /readyz's status code and body; 0 and the error when it
// does not answer.
func (p *Proc) Readyz() (int, string) {
	resp, err := http.Get("http://" + p.HealthAddr + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
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

// Counter returns the sum of every sample of metric (all label values);
// 0 when it has none yet.
func (p *Proc) Counter(t testing.TB, metric string) float64 {
	t.Helper()
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(p.Metrics(t)))
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if base, _, _ := strings.Cut(name, "{"); base != metric {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		require.NoError(t, err, line)
		sum += v
	}
	return sum
}

// Binary is a command package to build before a test binary's tests run,
// and where to put its path.
type Binary struct {
	// Pkg is the command's import path.
	Pkg string
	// Path receives the built binary's path.
	Path *string
	// Tags are build tags, for example "standalone".
	Tags []string
}

// Main builds bins, runs the tests and removes the builds; use it as a
// package's TestMain: func TestMain(m *testing.M) { os.Exit(proc.Main(m, ...)) }.
func Main(m *testing.M, bins ...Binary) int {
	for _, b := range bins {
		path, cleanup, err := Build(b.Pkg, b.Tags...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer cleanup()
		*b.Path = path
	}
	return m.Run()
}
