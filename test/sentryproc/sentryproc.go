package sentryproc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/proc"
)

// Options describe one sentry process.
type Options struct {
	// Args are sentry's flags; the listen addresses and ports are added.
	Args []string
	// Env is added to the test's environment, after
	// DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true.
	Env []string
	// ID is the SPIFFE ID Sentry serves with. Default
	// spiffe://cluster.local/ns/default/dapr-sentry.
	ID spiffeid.ID
}

// Proc is a running sentry.
type Proc struct {
	*proc.Proc
	// GRPCAddr is the CA's host:port.
	GRPCAddr string
	// ID is the SPIFFE ID Sentry serves with.
	ID spiffeid.ID
}

// Launch starts sentry without waiting for it (see proc.Launch).
func Launch(t testing.TB, bin string, o Options) *Proc {
	t.Helper()
	p := &Proc{ID: o.ID}
	if p.ID.IsZero() {
		p.ID = spiffeid.RequireFromString("spiffe://cluster.local/ns/default/dapr-sentry")
	}
	port := proc.FreePort(t)
	p.GRPCAddr = fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{"--listen-address", "127.0.0.1", "--port", fmt.Sprint(port)}, o.Args...)
	// Tests run as root on CI machines: allow Kubernetes mode there, as a
	// pod with runAsUser 0 would need to (a test can override it in Env).
	env := append([]string{"DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true"}, o.Env...)
	p.Proc = proc.Launch(t, bin, args, env)
	return p
}

// Start launches sentry and waits until /readyz answers 200.
func Start(t testing.TB, bin string, o Options) *Proc {
	t.Helper()
	p := Launch(t, bin, o)
	p.WaitReady(t)
	return p
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

// Context is a 30s context tied to the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
