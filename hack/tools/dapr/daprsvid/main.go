// Command daprsvid plays a Dapr workload or control-plane service against a
// Sentry, through Dapr's own security provider (github.com/dapr/dapr/pkg/security
// at the version this module pins), the way daprd and the control-plane
// services set it up. Tests use it as an oracle: what a real Dapr client
// gets from a Sentry, and whether two of them complete mTLS.
//
//	daprsvid --sentry-address 127.0.0.1:50001 --trust-anchors-file ca.crt --app-id myapp
//	daprsvid ... --serve 127.0.0.1:0 --peer-id spiffe://cluster.local/ns/default/client
//	daprsvid ... --dial 127.0.0.1:PORT --peer-id spiffe://cluster.local/ns/default/server
//
// The namespace is $NAMESPACE ("default" when unset), and the Sentry token
// comes from --token-file or Dapr's default place for the mode, exactly as
// Dapr reads them. In Kubernetes mode Dapr refuses to run as root unless
// DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true.
//
// Standard output carries only JSON lines, one per event:
//
//	{"event":"svid","id":"spiffe://…","serial":"…","notBefore":"RFC3339","notAfter":"RFC3339"}
//	{"event":"listening","addr":"127.0.0.1:34567"}
//	{"event":"served","peer":"spiffe://…"}             (--serve: a client completed mTLS)
//	{"event":"handshake-failed","error":"…"}           (--serve: a client did not; serving goes on)
//	{"event":"peer","id":"spiffe://…","verifiedId":"spiffe://…"}  (--dial: the line the server sent, and its verified certificate ID)
//	{"event":"error","error":"…"}                      (then exit 1)
//
// A Sentry that cannot be reached, or that does not present the
// control-plane Sentry ID, is waited for (Dapr's dial blocks), not an error.
//
// An svid event is printed for the first certificate and again whenever
// the certificate the provider presents changes (a renewal). Dapr's logs,
// and anything else written to the process's standard output, go to
// standard error. SIGTERM and SIGINT stop it with exit code 0.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"golang.org/x/sys/unix"

	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/modes"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/crypto/spiffe"
	"github.com/dapr/kit/logger"
)

type config struct {
	sentryAddress  string
	anchorsFile    string
	cpTrustDomain  string
	cpNamespace    string
	appID          string
	mode           string
	tokenFile      string
	identityDir    string
	keyAlgorithm   string
	serve          string
	dial           string
	peerID         string
	dialTimeout    time.Duration
	pollInterval   time.Duration
	logLevel       string
	logAsJSON      bool
	parsedPeerID   spiffeid.ID
	parsedKeyAlg   *spiffe.KeyAlgorithm
	parsedDaprMode modes.DaprMode
}

func main() {
	out, err := takeStdout()
	if err != nil {
		fmt.Fprintf(os.Stderr, "daprsvid: %v\n", err)
		os.Exit(1)
	}
	ev := &events{w: out}
	if err := run(ev); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // the usage is on standard error
		}
		ev.emit(event{Event: "error", Error: err.Error()})
		os.Exit(1)
	}
}

// takeStdout keeps the real standard output for the JSON events and points
// file descriptor 1 at standard error, so that Dapr's loggers (which write
// to os.Stdout) and any other stray output cannot interleave with them.
func takeStdout() (*os.File, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("dup stdout: %w", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.Dup2(2, 1); err != nil {
		return nil, fmt.Errorf("redirect stdout to stderr: %w", err)
	}
	return os.NewFile(uintptr(fd), "events"), nil
}

// event is one JSON line; fields in the order they are printed.
type event struct {
	Event      string `json:"event"`
	ID         string `json:"id,omitempty"`
	Serial     string `json:"serial,omitempty"`
	NotBefore  string `json:"notBefore,omitempty"`
	NotAfter   string `json:"notAfter,omitempty"`
	VerifiedID string `json:"verifiedId,omitempty"`
	Addr       string `json:"addr,omitempty"`
	Peer       string `json:"peer,omitempty"`
	Error      string `json:"error,omitempty"`
}

type events struct {
	mu sync.Mutex
	w  *os.File
}

func (e *events) emit(v event) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings go in
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(append(b, '\n'))
}

func parseFlags() (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("daprsvid", flag.ContinueOnError)
	fs.StringVar(&c.sentryAddress, "sentry-address", "", "Sentry's gRPC address, host:port (required)")
	fs.StringVar(&c.anchorsFile, "trust-anchors-file", "", "PEM trust anchors (the CA's ca.crt); watched for changes as Dapr does (required)")
	fs.StringVar(&c.cpTrustDomain, "control-plane-trust-domain", "cluster.local", "control-plane trust domain: Sentry must be spiffe://<this>/ns/<control-plane-namespace>/dapr-sentry")
	fs.StringVar(&c.cpNamespace, "control-plane-namespace", "dapr-system", "control-plane namespace")
	fs.StringVar(&c.appID, "app-id", "", "app ID to request (Dapr's SENTRY_LOCAL_IDENTITY overrides the request's ID) (required)")
	fs.StringVar(&c.mode, "mode", string(modes.StandaloneMode), "standalone or kubernetes (decides Dapr's default token)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the Sentry token (security.Options.SentryTokenFile); empty: Dapr's default for the mode")
	fs.StringVar(&c.identityDir, "identity-dir", "", "also let Dapr write key.pem, cert.pem and ca.pem here (security.Options.WriteIdentityToFile)")
	fs.StringVar(&c.keyAlgorithm, "key-algorithm", "ed25519", "workload key: ed25519 (Dapr's default) or rsa (as Dapr's injector)")
	fs.StringVar(&c.serve, "serve", "", "listen here with mTLS; each client gets one line with this service's SPIFFE ID")
	fs.StringVar(&c.dial, "dial", "", "dial this address with mTLS, print the server's line, exit")
	fs.StringVar(&c.peerID, "peer-id", "", "SPIFFE ID the peer must present (required with --serve and --dial)")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 10*time.Second, "timeout of --dial (connect, handshake and read)")
	fs.DurationVar(&c.pollInterval, "poll-interval", 100*time.Millisecond, "how often to look for a renewed certificate")
	fs.StringVar(&c.logLevel, "log-level", "info", "Dapr log level: debug, info, warn, error")
	fs.BoolVar(&c.logAsJSON, "log-as-json", false, "Dapr logs as JSON (on standard error)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var missing []string
	for name, v := range map[string]string{"sentry-address": c.sentryAddress, "trust-anchors-file": c.anchorsFile, "app-id": c.appID} {
		if v == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	switch modes.DaprMode(c.mode) {
	case modes.StandaloneMode, modes.KubernetesMode:
		c.parsedDaprMode = modes.DaprMode(c.mode)
	default:
		return nil, fmt.Errorf("--mode %q: want standalone or kubernetes", c.mode)
	}
	switch c.keyAlgorithm {
	case "ed25519":
		alg := spiffe.KeyAlgorithmEd25519
		c.parsedKeyAlg = &alg
	case "rsa":
		alg := spiffe.KeyAlgorithmRSA
		c.parsedKeyAlg = &alg
	default:
		return nil, fmt.Errorf("--key-algorithm %q: want ed25519 or rsa", c.keyAlgorithm)
	}
	if c.serve != "" && c.dial != "" {
		return nil, errors.New("--serve and --dial are exclusive")
	}
	if c.serve != "" || c.dial != "" {
		id, err := spiffeid.FromString(c.peerID)
		if err != nil {
			return nil, fmt.Errorf("--peer-id: %w", err)
		}
		c.parsedPeerID = id
	}
	if c.pollInterval <= 0 {
		return nil, errors.New("--poll-interval must be positive")
	}
	return c, nil
}

func run(ev *events) error {
	c, err := parseFlags()
	if err != nil {
		return err
	}

	logOpts := logger.DefaultOptions()
	logOpts.JSONFormatEnabled = c.logAsJSON
	logOpts.SetAppID(c.appID)
	if err := logOpts.SetOutputLevel(c.logLevel); err != nil {
		return err
	}
	if err := logger.ApplyOptionsToLoggers(&logOpts); err != nil {
		return err
	}

	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancel(sigCtx)
	defer cancel()

	opts := security.Options{
		SentryAddress:           c.sentryAddress,
		ControlPlaneTrustDomain: c.cpTrustDomain,
		ControlPlaneNamespace:   c.cpNamespace,
		TrustAnchorsFile:        &c.anchorsFile,
		AppID:                   c.appID,
		MTLSEnabled:             true,
		Mode:                    c.parsedDaprMode,
		Healthz:                 healthz.New(),
		KeyAlgorithm:            c.parsedKeyAlg,
	}
	if c.tokenFile != "" {
		opts.SentryTokenFile = &c.tokenFile
	}
	if c.identityDir != "" {
		opts.WriteIdentityToFile = &c.identityDir
	}
	provider, err := security.New(ctx, opts)
	if err != nil {
		return fmt.Errorf("security.New: %w", err)
	}

	runDone := make(chan struct{})
	var runErr error
	go func() {
		defer close(runDone)
		runErr = provider.Run(ctx)
	}()
	// finish stops the provider and returns err; else, if the provider
	// stopped by itself (not on a signal, nor by finish), its error. After
	// a signal it returns nil: what failed then was cut short.
	finish := func(err error) error {
		stoppedAlone := false
		select {
		case <-runDone:
			stoppedAlone = sigCtx.Err() == nil
		default:
		}
		cancel()
		<-runDone
		if sigCtx.Err() != nil {
			return nil
		}
		if err == nil && stoppedAlone {
			if runErr == nil {
				runErr = errors.New("stopped")
			}
			err = fmt.Errorf("security provider: %w", runErr)
		}
		return err
	}

	// Handler blocks until the first SVID. A provider that fails first
	// (Sentry refused the request, bad anchors) never becomes ready; one
	// that cannot reach Sentry, or does not accept its certificate, keeps
	// trying, as daprd does.
	hctx, hcancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-runDone:
		case <-hctx.Done():
		}
		hcancel()
	}()
	handler, err := provider.Handler(hctx)
	hcancel()
	if err != nil {
		return finish(nil) // the provider's error, or nil on a signal
	}

	// Any ID: only the config's certificate callback is used, to read the
	// SVID the provider presents right now.
	current := handler.MTLSClientConfig(handler.ID()).GetClientCertificate
	leaf, err := currentLeaf(current)
	if err != nil {
		return finish(err)
	}
	ev.emit(svidEvent(leaf))
	go watchSVID(ctx, ev, current, leaf, c.pollInterval)

	switch {
	case c.dial != "":
		return finish(dial(ctx, ev, handler, c))
	case c.serve != "":
		return finish(serve(ctx, runDone, ev, handler, c, current))
	default:
		select {
		case <-ctx.Done():
		case <-runDone:
		}
		return finish(nil)
	}
}

func currentLeaf(get func(*tls.CertificateRequestInfo) (*tls.Certificate, error)) (*x509.Certificate, error) {
	cert, err := get(&tls.CertificateRequestInfo{})
	if err != nil {
		return nil, fmt.Errorf("current SVID: %w", err)
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("current SVID: no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("current SVID: %w", err)
	}
	return leaf, nil
}

func svidEvent(leaf *x509.Certificate) event {
	id := ""
	if sid, err := x509svid.IDFromCert(leaf); err == nil {
		id = sid.String()
	}
	return event{
		Event:     "svid",
		ID:        id,
		Serial:    leaf.SerialNumber.String(),
		NotBefore: leaf.NotBefore.UTC().Format(time.RFC3339),
		NotAfter:  leaf.NotAfter.UTC().Format(time.RFC3339),
	}
}

func watchSVID(ctx context.Context, ev *events, get func(*tls.CertificateRequestInfo) (*tls.Certificate, error), last *x509.Certificate, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		leaf, err := currentLeaf(get)
		if err != nil || leaf.Equal(last) {
			continue
		}
		last = leaf
		ev.emit(svidEvent(leaf))
	}
}

// serve accepts until ctx is done or the provider stops (runDone).
func serve(ctx context.Context, runDone <-chan struct{}, ev *events, h security.Handler, c *config, current func(*tls.CertificateRequestInfo) (*tls.Certificate, error)) error {
	lis, err := net.Listen("tcp", c.serve)
	if err != nil {
		return err
	}
	tlis := h.NetListenerID(lis, c.parsedPeerID)
	ev.emit(event{Event: "listening", Addr: lis.Addr().String()})
	closed := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-runDone:
		}
		close(closed) // first: Accept fails once the listener is closed
		_ = tlis.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := tlis.Accept()
		if err != nil {
			select {
			case <-closed:
				return nil
			default:
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			peer, err := serveConn(conn, current, c.dialTimeout)
			if err != nil {
				ev.emit(event{Event: "handshake-failed", Error: err.Error()})
				return
			}
			ev.emit(event{Event: "served", Peer: peer})
		}()
	}
}

// serveConn completes the handshake (the listener authorizes the client)
// and writes this service's own SPIFFE ID, as currently presented.
func serveConn(conn net.Conn, current func(*tls.CertificateRequestInfo) (*tls.Certificate, error), timeout time.Duration) (string, error) {
	_ = conn.SetDeadline(time.Now().Add(timeout))
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return "", errors.New("listener is not TLS (mTLS disabled?)")
	}
	if err := tc.Handshake(); err != nil {
		return "", err
	}
	peer, err := peerID(tc)
	if err != nil {
		return "", err
	}
	leaf, err := currentLeaf(current)
	if err != nil {
		return "", err
	}
	self, err := x509svid.IDFromCert(leaf)
	if err != nil {
		return "", err
	}
	if _, err := fmt.Fprintln(conn, self.String()); err != nil {
		return "", err
	}
	return peer, nil
}

func dial(ctx context.Context, ev *events, h security.Handler, c *config) error {
	conn, err := h.NetDialerID(ctx, c.parsedPeerID, c.dialTimeout)("tcp", c.dial)
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.dial, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(c.dialTimeout))
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return errors.New("dialer is not TLS (mTLS disabled?)")
	}
	if err := tc.Handshake(); err != nil { // done by tls.Dialer already; a no-op then
		return err
	}
	verified, err := peerID(tc)
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the server's line: %w", err)
	}
	ev.emit(event{Event: "peer", ID: strings.TrimSpace(line), VerifiedID: verified})
	return nil
}

func peerID(tc *tls.Conn) (string, error) {
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return "", errors.New("peer presented no certificate")
	}
	id, err := x509svid.IDFromCert(st.PeerCertificates[0])
	if err != nil {
		return "", fmt.Errorf("peer certificate: %w", err)
	}
	return id.String(), nil
}
