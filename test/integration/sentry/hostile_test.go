package sentry

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// The hostile_*_test.go files attack the real binary as a caller without
// a token would: memory, connections, idle and stalled connections, and the
// log. Helpers shared by them are here.

// startFullSentry starts the build of the container image (with
// Kubernetes mode), self-hosted, and waits until it is ready.
func startFullSentry(t *testing.T, dir string, args ...string) *sentryProc {
	t.Helper()
	return &sentryProc{Proc: sentryproc.Start(t, fullSentryBin, sentryOptions(dir, args)), dir: dir}
}

// pidOf finds the process of the sentry p started, by its gRPC port.
func pidOf(t *testing.T, p *sentryProc) int {
	t.Helper()
	_, port, _ := strings.Cut(p.GRPCAddr, ":")
	paths, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	for _, path := range paths {
		cmdline, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
		if len(args) == 0 || (args[0] != sentryBin && args[0] != fullSentryBin) {
			continue
		}
		for i := range len(args) - 1 {
			if args[i] == "--port" && args[i+1] == port {
				pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
				require.NoError(t, err)
				return pid
			}
		}
	}
	t.Fatalf("no sentry process with --port %s", port)
	return 0
}

// procStatusKiB reads a "kB" field of /proc/<pid>/status, such as VmRSS or
// VmHWM (the peak RSS).
func procStatusKiB(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			require.NoError(t, err)
			return kib
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// dialNew opens a client on a connection of its own, as daprd does for
// each request.
func (p *sentryProc) dialNew(t testing.TB, anchorsPEM []byte) (sentryv1.CAClient, func()) {
	t.Helper()
	b, err := x509bundle.Parse(p.ID.TrustDomain(), anchorsPEM)
	require.NoError(t, err)
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(
		credentials.NewTLS(tlsconfig.TLSClientConfig(b, tlsconfig.AuthorizeID(p.ID)))),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20)))
	require.NoError(t, err)
	return sentryv1.NewCAClient(conn), func() { _ = conn.Close() }
}

// sample returns the value of one sample of the metrics, named with its
// labels as exposed (name{label="value"}); 0 when absent.
func (p *sentryProc) sample(t *testing.T, name string) float64 {
	t.Helper()
	for line := range strings.Lines(p.Metrics(t)) {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			require.NoError(t, err, line)
			return v
		}
	}
	return 0
}
