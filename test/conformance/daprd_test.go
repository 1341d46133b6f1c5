//go:build daprd

package conformance

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/daprbin"
	"github.com/trustplane/trustplane/test/proc"
	"github.com/trustplane/trustplane/test/testca"
)

// These tests run Dapr's real daprd sidecar (v1.18.2, -tags
// stablecomponents: hack/tools/daprd) on our Sentry. They are behind the
// daprd build tag because make test does not build daprd (a cold build is
// long): make test-daprd runs them, and .ci/run does when daprd is cached.
// They never skip: without the binary they fail naming make daprd.

// appNamespace is the namespace of the daprds ($NAMESPACE).
const appNamespace = "default"

// daprdUp bounds how long a daprd may take to answer /v1.0/healthz.
const daprdUp = 60 * time.Second

// testApp is a daprd's application: an HTTP server in the test process.
type testApp struct {
	port int
	body string // what GET /hello answers

	mu     sync.Mutex
	tokens []string // the dapr-api-token header of each /hello request ("" when absent)
}

func startApp(t *testing.T, body string) *testApp {
	t.Helper()
	a := &testApp{body: body}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.tokens = append(a.tokens, r.Header.Get("dapr-api-token"))
		a.mu.Unlock()
		_, _ = io.WriteString(w, a.body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a.port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

// receivedTokens returns the dapr-api-token header of every /hello request so far.
func (a *testApp) receivedTokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.tokens...)
}

// daprdPorts are one daprd's listening ports, all on 127.0.0.1.
type daprdPorts struct {
	http, grpc, internal, public, metrics, profile int
}

func freeDaprdPorts(t *testing.T) daprdPorts {
	t.Helper()
	return daprdPorts{
		http: proc.FreePort(t), grpc: proc.FreePort(t), internal: proc.FreePort(t),
		public: proc.FreePort(t), metrics: proc.FreePort(t), profile: proc.FreePort(t),
	}
}

// resolverConfig writes a Dapr Configuration for daprd's name resolution.
// Self-hosted daprd resolves app IDs with mDNS by default, which needs
// multicast on a real interface (not there in a container or CI network
// namespace); the stable "kubernetes" resolver with a template needs no
// network: it maps each app ID to 127.0.0.1 and its daprd's internal gRPC
// port.
func resolverConfig(t *testing.T, internalPorts map[string]int) string {
	t.Helper()
	var tmpl strings.Builder
	for id, port := range internalPorts {
		fmt.Fprintf(&tmpl, `{{if eq .ID %q}}127.0.0.1:%d{{end}}`, id, port)
	}
	cfg := fmt.Sprintf(`apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprd-conformance
spec:
  nameResolution:
    component: kubernetes
    configuration:
      template: %s
`, strconv.Quote(tmpl.String()))
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

// daprdOptions describe one daprd, self-hosted with mTLS on.
type daprdOptions struct {
	appID   string
	app     *testApp
	ports   daprdPorts
	sentry  string // our Sentry's host:port
	anchors []byte // DAPR_TRUST_ANCHORS
	config  string // --config
	env     []string
}

// daprd is a running daprd.
type daprd struct {
	appID string
	ports daprdPorts
	logs  *proc.Buffer
	cmd   *exec.Cmd
	done  chan struct{}
}

// launchDaprd starts daprd self-hosted as `dapr run` would, pointed at our
// Sentry, without waiting for it.
func launchDaprd(t *testing.T, o daprdOptions) *daprd {
	t.Helper()
	p := o.ports
	args := []string{
		"--mode", "standalone",
		"--app-id", o.appID,
		"--app-port", strconv.Itoa(o.app.port),
		"--app-channel-address", "127.0.0.1",
		"--app-protocol", "http",
		"--dapr-listen-addresses", "127.0.0.1",
		"--dapr-http-port", strconv.Itoa(p.http),
		"--dapr-grpc-port", strconv.Itoa(p.grpc),
		"--dapr-internal-grpc-port", strconv.Itoa(p.internal),
		"--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--dapr-public-port", strconv.Itoa(p.public),
		"--dapr-public-listen-address", "127.0.0.1",
		"--metrics-port", strconv.Itoa(p.metrics),
		"--metrics-listen-address", "127.0.0.1",
		"--profile-port", strconv.Itoa(p.profile),
		"--enable-mtls",
		"--sentry-address", o.sentry,
		"--control-plane-trust-domain", "cluster.local",
		"--control-plane-namespace", controlPlaneNS,
		"--resources-path", t.TempDir(), // no components
		"--log-level", "debug",
	}
	if o.config != "" {
		args = append(args, "--config", o.config)
	}
	env := append([]string{
		"NAMESPACE=" + appNamespace,
		"DAPR_TRUST_ANCHORS=" + string(o.anchors),
		// In a private network namespace daprd finds no host address of
		// its own without it (the injector sets it to the pod IP).
		"DAPR_HOST_IP=127.0.0.1",
	}, o.env...)
	return execDaprd(t, o.appID, p, args, env)
}

// execDaprd runs daprd with args and env (added to the test's), without
// waiting for it. It is stopped when the test ends, and its logs are
// printed if the test failed.
func execDaprd(t *testing.T, appID string, ports daprdPorts, args, env []string) *daprd {
	t.Helper()
	cmd := exec.Command(daprbin.Daprd(t), args...)
	cmd.Env = append(os.Environ(), env...)
	d := &daprd{appID: appID, ports: ports, logs: &proc.Buffer{}, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daprd %s logs:\n%s", appID, d.logs.String())
		}
	})
	return d
}

// stop sends SIGTERM and waits for daprd to exit (killing it after 20s).
func (d *daprd) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// healthz returns the status of daprd's /v1.0/healthz (0 when it does not
// answer): 204 once daprd is up, the app channel included.
func (d *daprd) healthz() int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", d.ports.http))
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// waitUp waits up to daprdUp for /v1.0/healthz to answer 2xx.
func (d *daprd) waitUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(daprdUp)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			t.Fatalf("daprd %s exited early; logs:\n%s", d.appID, d.logs.String())
		default:
		}
		if code := d.healthz(); code >= 200 && code < 300 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("daprd %s not up within %s", d.appID, daprdUp)
}

// invoke calls GET /v1.0/invoke/<target>/method/hello on d's HTTP API,
// with the dapr-api-token header when token is not empty.
func (d *daprd) invoke(t *testing.T, target, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/v1.0/invoke/%s/method/hello", d.ports.http, target), nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("dapr-api-token", token)
	}
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// Two real daprds, self-hosted with mTLS, take their SVIDs from our Sentry
// and invoke each other over daprd-to-daprd mTLS; the API token (on A) and
// the app token (on B) work as with Dapr's Sentry.
func TestDaprdServiceInvocationOnOurSentry(t *testing.T) {
	daprbin.Daprd(t) // fail first when it is not built
	ours := startOurs(t)
	anchors := ours.anchors(t)
	const apiToken, appToken = "api-token-of-a", "app-token-of-b"

	appA, appB := startApp(t, "hello from a"), startApp(t, "hello from b")
	portsA, portsB := freeDaprdPorts(t), freeDaprdPorts(t)
	config := resolverConfig(t, map[string]int{"a": portsA.internal, "b": portsB.internal})
	b := launchDaprd(t, daprdOptions{appID: "b", app: appB, ports: portsB, sentry: ours.addr, anchors: anchors, config: config,
		env: []string{"APP_API_TOKEN=" + appToken}})
	a := launchDaprd(t, daprdOptions{appID: "a", app: appA, ports: portsA, sentry: ours.addr, anchors: anchors, config: config,
		env: []string{"DAPR_API_TOKEN=" + apiToken}})
	b.waitUp(t)
	a.waitUp(t)

	t.Run("both daprds have their SVIDs from our Sentry", func(t *testing.T) {
		for _, d := range []*daprd{a, b} {
			assert.Contains(t, d.logs.String(), "Security is initialized successfully", d.appID)
		}
		assert.GreaterOrEqual(t, ours.proc.Counter(t, "dapr_sentry_cert_sign_success_total"), 2.0, "our Sentry signed both daprds")
	})

	t.Run("B's daprd serves its internal API with mTLS and our SVID", func(t *testing.T) {
		assertServesOurSVID(t, portsB.internal, anchors, "spiffe://public/ns/"+appNamespace+"/b")
	})

	t.Run("A invokes B over daprd-to-daprd mTLS", func(t *testing.T) {
		code, body := a.invoke(t, "b", apiToken)
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, "hello from b", body)
	})

	t.Run("A's API refuses a call without DAPR_API_TOKEN", func(t *testing.T) {
		before := len(appB.receivedTokens())
		code, body := a.invoke(t, "b", "")
		assert.Equal(t, http.StatusUnauthorized, code, body)
		code, body = a.invoke(t, "b", "not-"+apiToken)
		assert.Equal(t, http.StatusUnauthorized, code, body)
		assert.Len(t, appB.receivedTokens(), before, "nothing reached B")
		code, body = a.invoke(t, "b", apiToken)
		assert.Equal(t, http.StatusOK, code, body)
	})

	t.Run("B's app receives APP_API_TOKEN as dapr-api-token", func(t *testing.T) {
		tokens := appB.receivedTokens()
		require.NotEmpty(t, tokens)
		for _, tok := range tokens {
			assert.Equal(t, appToken, tok)
		}
	})

	t.Run("B invokes A (no API token on B)", func(t *testing.T) {
		code, body := b.invoke(t, "a", "")
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, "hello from a", body)
		assert.Equal(t, []string{""}, appA.receivedTokens(), "A has no APP_API_TOKEN: no header")
	})
}

// With trust anchors of another CA, daprd cannot verify our Sentry: it never
// gets an SVID, never comes up, and says why when it gives up.
func TestDaprdDoesNotComeUpWithAnotherCAsAnchors(t *testing.T) {
	daprbin.Daprd(t) // fail first when it is not built
	ours := startOurs(t)
	other := testca.NewRoot(t)
	d := launchDaprd(t, daprdOptions{appID: "a", app: startApp(t, "hello"), ports: freeDaprdPorts(t),
		sentry: ours.addr, anchors: other.CertPEM()})

	const bound = 15 * time.Second
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		code := d.healthz()
		require.False(t, code >= 200 && code < 300, "daprd came up (healthz %d) trusting another CA", code)
		time.Sleep(250 * time.Millisecond)
	}
	assert.NotContains(t, d.logs.String(), "Security is initialized successfully")
	assert.Zero(t, ours.proc.Counter(t, "dapr_sentry_cert_sign_success_total"), "our Sentry signed nothing")

	// daprd keeps dialing Sentry until it is stopped, then logs the reason.
	d.stop()
	logs := d.logs.String()
	assert.Contains(t, logs, "failed to retrieve the initial identity")
	assert.Contains(t, logs, "x509: certificate signed by unknown authority")
}

// assertServesOurSVID checks that the daprd internal gRPC server on port
// presents a certificate for wantID that chains to anchors, and refuses a
// client without a certificate (mTLS).
func assertServesOurSVID(t *testing.T, port int, anchors []byte, wantID string) {
	t.Helper()
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(anchors))
	var served []*x509.Certificate
	var requested bool
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{
		InsecureSkipVerify: true, // checked below against the anchors, by SPIFFE ID
		NextProtos:         []string{"h2"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			served = cs.PeerCertificates
			return nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			requested = true
			return &tls.Certificate{}, nil
		},
	})
	if err == nil {
		// TLS 1.3: the server refuses the empty client certificate after
		// the client's half of the handshake; reading shows it.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		_ = conn.Close()
	}
	require.Error(t, err, "a client without a certificate must be refused")
	var netErr net.Error
	require.False(t, errors.As(err, &netErr) && netErr.Timeout(), "refused, not left waiting: %v", err)
	assert.True(t, requested, "daprd asks for a client certificate")
	require.NotEmpty(t, served)
	leaf := served[0]
	require.Len(t, leaf.URIs, 1)
	assert.Equal(t, wantID, leaf.URIs[0].String())
	inter := x509.NewCertPool()
	for _, c := range served[1:] {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	assert.NoError(t, err, "daprd serves a certificate our Sentry signed")
}
