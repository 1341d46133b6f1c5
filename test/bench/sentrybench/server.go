package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffegrpc/grpccredentials"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"google.golang.org/grpc"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

// controlPlaneNS is the namespace both Sentries run in ($NAMESPACE), as
// Dapr's chart installs them; their identity is
// spiffe://cluster.local/ns/dapr-system/dapr-sentry.
const controlPlaneNS = "dapr-system"

var sentryID = spiffeid.RequireFromString("spiffe://cluster.local/ns/" + controlPlaneNS + "/dapr-sentry")

// kind is one sentry configuration under test.
type kind struct {
	name string // as printed: "ours ed25519", "Dapr's"
	bin  string
	dapr bool
	args []string // added to the common ones
}

func kinds(cfg config) []kind {
	var ks []kind
	for _, a := range cfg.keyAlgorithms {
		name := "ours"
		if len(cfg.keyAlgorithms) > 1 {
			name = "ours " + shortAlg(a)
		}
		ks = append(ks, kind{name: name, bin: cfg.sentryBin, args: []string{"--key-algorithm", a}})
	}
	if cfg.daprBin != "" {
		ks = append(ks, kind{name: "Dapr's", bin: cfg.daprBin, dapr: true})
	}
	return ks
}

func shortAlg(a string) string {
	if a == "ecdsa-p256" {
		return "P-256"
	}
	return "Ed25519"
}

// server is a running sentry with its shared client connection.
type server struct {
	kind
	dir     string // its issuer credentials and config file
	addr    string
	cmd     *exec.Cmd
	pid     int
	anchors *x509bundle.Bundle
	conn    *grpc.ClientConn
	client  sentryv1.CAClient
	idleRSS int64
	started time.Time
	log     *logWatch
}

// logWatch forwards a sentry's log to our standard error, except the lines
// saying that Dapr's sentry reloads its issuer credentials, which it
// counts: Dapr v1.18.3's sentry watches its credentials directory and, for
// each file event queued (its own writes of the CA it generated included),
// waits 2 s and restarts its gRPC server (cmd/sentry/app/app.go), three
// times over ~6 s after a fresh start here.
type logWatch struct {
	mu      sync.Mutex
	reloads int
	last    time.Time
}

func (w *logWatch) Write(b []byte) (int, error) {
	var keep []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if bytes.Contains(line, []byte("Issuer credentials changed; reloading")) {
			w.mu.Lock()
			w.reloads++
			w.last = time.Now()
			w.mu.Unlock()
			continue
		}
		keep = append(keep, line...)
	}
	if len(keep) > 0 {
		if _, err := os.Stderr.Write(keep); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// settle waits until Dapr's sentry has stopped reloading: 3 s since its
// start and since its last reload (each reload follows the previous one
// by 2 s while file events are queued). It returns the number of reloads.
func (s *server) settle(ctx context.Context) int {
	for ctx.Err() == nil {
		s.log.mu.Lock()
		quiet := time.Since(s.started) > 3*time.Second && time.Since(s.log.last) > 3*time.Second
		n := s.log.reloads
		s.log.mu.Unlock()
		if quiet || !s.dapr {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0
}

// command is the sentry self-hosted on dir (generating its CA there),
// serving on 127.0.0.1:port, with an empty --config as Dapr's tooling
// passes self-hosted (Dapr's sentry refuses to start without one), no
// metrics, warnings only, dying with this process.
func (k kind) command(dir, port string, extra ...string) (*exec.Cmd, error) {
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, nil, 0o600); err != nil {
		return nil, err
	}
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		return nil, err
	}
	args := []string{"--issuer-credentials", creds, "--trust-domain", "cluster.local", "--config", cfgFile,
		"--listen-address", "127.0.0.1", "--port", port, "--enable-metrics=false", "--log-level", "warn"}
	if k.dapr {
		// Dapr's sentry always serves /healthz: give it a free port.
		hp, err := freePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--healthz-listen-address", "127.0.0.1", "--healthz-port", hp)
	} else {
		args = append(args, "--healthz-port", "0")
	}
	args = append(append(args, k.args...), extra...)
	cmd := exec.Command(k.bin, args...)
	cmd.Env = append(os.Environ(), "NAMESPACE="+controlPlaneNS)
	cmd.SysProcAttr = dieWithParent()
	return cmd, nil
}

// start starts k on a fresh directory under root and waits for its first
// successful sign, returning the time from exec to it.
func start(ctx context.Context, k kind, root string, pool *csrPool, extra ...string) (*server, time.Duration, error) {
	dir, err := os.MkdirTemp(root, "sentry-")
	if err != nil {
		return nil, 0, err
	}
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	cmd, err := k.command(dir, port, extra...)
	if err != nil {
		return nil, 0, err
	}
	lw := &logWatch{}
	cmd.Stderr = lw
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", k.name, err)
	}
	s := &server{kind: k, dir: dir, addr: "127.0.0.1:" + port, cmd: cmd, pid: cmd.Process.Pid, started: t0, log: lw}
	anchors, first, err := firstSign(ctx, filepath.Join(dir, "credentials"), s.addr, pool.take())
	if err != nil {
		s.stop()
		return nil, 0, fmt.Errorf("%s: %w", k.name, err)
	}
	s.anchors = anchors
	return s, first.Sub(t0), nil
}

// connect opens the server's shared connection.
func (s *server) connect() error {
	conn, err := dial(s.addr, s.anchors)
	if err != nil {
		return err
	}
	s.conn, s.client = conn, sentryv1.NewCAClient(conn)
	return nil
}

func (s *server) stop() {
	if s.conn != nil {
		s.conn.Close()
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	os.RemoveAll(s.dir)
}

// dial is what daprd v1.18.3 does for each sign (pkg/security/sentry.go):
// go-spiffe's TLS client credentials, trusting the anchors and authorizing
// Sentry's SPIFFE ID only, and the passthrough resolver (grpc.DialContext's
// default). daprd dials blocking, with a retry interceptor; this client
// connects lazily on the first call instead: the same bytes on the wire for
// the server.
func dial(addr string, anchors *x509bundle.Bundle) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(
		grpccredentials.TLSClientCredentials(anchors, tlsconfig.AuthorizeID(sentryID))))
}

// firstSign polls until sentry has written its anchors and signs a CSR.
func firstSign(ctx context.Context, credsDir, addr string, item csrItem) (*x509bundle.Bundle, time.Time, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		data, err := os.ReadFile(filepath.Join(credsDir, "ca.crt"))
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
		_, err = sentryv1.NewCAClient(conn).SignCertificate(cctx, signRequest(item))
		cancel()
		conn.Close()
		if err == nil {
			return anchors, time.Now(), nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil, time.Time{}, errors.New("sentry did not sign within 30s")
}

// signRequest is daprd's request self-hosted: app ID, namespace, no token
// (the insecure validator), no trust domain (so "public").
func signRequest(item csrItem) *sentryv1.SignCertificateRequest {
	return &sentryv1.SignCertificateRequest{Id: "bench", Namespace: "default", CertificateSigningRequest: item.pem}
}

// dieWithParent makes the kernel stop sentry if this process dies without
// stopping it (a pipe closed under it, a kill).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
