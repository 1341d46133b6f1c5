package rotation

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/trustplane/trustplane/pkg/security"
	"github.com/trustplane/trustplane/pkg/spiffe"
	"github.com/trustplane/trustplane/test/cluster"
)

// kubelet copies the anchors ConfigMap of ns into a file every interval,
// replacing it atomically as the kubelet does for a mounted ConfigMap.
func kubelet(t *testing.T, ctx context.Context, kube kubernetes.Interface, ns string, interval time.Duration) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.crt")
	var last []byte
	copyOnce := func() bool {
		cm, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, "dapr-trust-bundle", metav1.GetOptions{})
		if err != nil || cm.Data["ca.crt"] == "" {
			return false
		}
		data := []byte(cm.Data["ca.crt"])
		if bytes.Equal(data, last) {
			return true
		}
		tmp := filepath.Join(dir, ".ca.crt.tmp")
		if os.WriteFile(tmp, data, 0o644) == nil && os.Rename(tmp, path) == nil {
			last = data
		}
		return true
	}
	require.Eventually(t, copyOnce, 30*time.Second, 100*time.Millisecond, "Sentry publishes the anchors in namespace %s", ns)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				copyOnce()
			}
		}
	}()
	t.Cleanup(func() { <-done })
	return path
}

// workload is a pkg/security client for app in ns.
type workload struct {
	id     spiffeid.ID
	client *security.Client
}

func startWorkload(t *testing.T, ctx context.Context, sentryAddr, ns, app, anchorsFile, token string) *workload {
	t.Helper()
	td, err := spiffe.TrustDomain("cluster.local")
	require.NoError(t, err)
	sentryID, err := spiffe.SentryID(td, cluster.ControlPlaneNamespace)
	require.NoError(t, err)
	cl, err := security.New(security.Options{
		SentryAddress: sentryAddr, SentryID: sentryID, TrustAnchorsFile: anchorsFile,
		AppID: app, Namespace: ns, TokenFile: cluster.TokenFile(t, token),
	})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Start(ctx) }()
	t.Cleanup(func() { <-done })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, cl.WaitReady(wctx))
	svid, err := cl.GetX509SVID()
	require.NoError(t, err)
	return &workload{id: svid.ID, client: cl}
}

// serial is the serial number of the workload's current leaf.
func (w *workload) serial(t *testing.T) string {
	t.Helper()
	svid, err := w.client.GetX509SVID()
	require.NoError(t, err)
	return svid.Certificates[0].SerialNumber.String()
}

// waitRenewal returns right after the workload's next renewal.
func (w *workload) waitRenewal(t *testing.T, ttl time.Duration) {
	t.Helper()
	before := w.serial(t)
	require.Eventually(t, func() bool { return w.serial(t) != before }, ttl, 10*time.Millisecond, "the workload renews within its TTL")
}

// trustedRoots is the number of roots in the workload's trust bundle.
func (w *workload) trustedRoots(t *testing.T) int {
	t.Helper()
	b, err := w.client.GetX509BundleForTrustDomain(w.id.TrustDomain())
	require.NoError(t, err)
	return len(b.X509Authorities())
}

// leafIssuedBy reports whether the workload's leaf is signed by issuer.
func (w *workload) leafIssuedBy(issuer *x509.Certificate) bool {
	svid, err := w.client.GetX509SVID()
	return err == nil && svid.Certificates[0].CheckSignatureFrom(issuer) == nil
}

// serve accepts mTLS connections for server from client and echoes a byte.
func serve(t *testing.T, ctx context.Context, server, client *workload) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tl := tls.NewListener(l, server.client.ServerTLSConfig(tlsconfig.AuthorizeID(client.id)))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := tl.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 1)
				if _, err := io.ReadFull(conn, buf); err == nil {
					_, _ = conn.Write(buf)
				}
			}()
		}
	}()
	go func() { <-ctx.Done(); l.Close() }()
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String()
}

// handshakes counts the results of new connections made every interval.
type handshakes struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []error
}

// dialLoop opens a new mTLS connection from client to addr every interval
// until ctx is done.
func (h *handshakes) dialLoop(ctx context.Context, client, server *workload, addr string, interval time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := h.once(client, server, addr); err != nil {
				if ctx.Err() != nil {
					return
				}
				h.failed.Add(1)
				h.mu.Lock()
				h.errs = append(h.errs, err)
				h.mu.Unlock()
			} else {
				h.ok.Add(1)
			}
		}
	}()
	return done
}

func (h *handshakes) once(client, server *workload, addr string) error {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, client.client.ClientTLSConfig(tlsconfig.AuthorizeID(server.id)))
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte{7}); err != nil {
		return err
	}
	buf := make([]byte, 1)
	_, err = io.ReadFull(conn, buf)
	return err
}
