package security

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	idA = spiffeid.RequireFromString("spiffe://public/ns/default/app-a")
	idB = spiffeid.RequireFromString("spiffe://public/ns/default/app-b")
)

// handshakeResult is what each side of one connection saw.
type handshakeResult struct {
	clientSaw, serverSaw *x509.Certificate
	clientErr, serverErr error
}

// handshake connects over loopback TCP and exchanges one message, so that
// the server's verdict on the client certificate (sent after the TLS 1.3
// handshake) reaches the client.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) handshakeResult {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", serverCfg)
	require.NoError(t, err)
	defer func() { _ = lis.Close() }()

	var res handshakeResult
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := lis.Accept()
		if err != nil {
			res.serverErr = err
			return
		}
		defer func() { _ = conn.Close() }()
		tconn := conn.(*tls.Conn)
		if res.serverErr = tconn.HandshakeContext(t.Context()); res.serverErr != nil {
			return
		}
		res.serverSaw = tconn.ConnectionState().PeerCertificates[0]
		_, res.serverErr = tconn.Write([]byte("hi"))
	}()

	d := tls.Dialer{Config: clientCfg}
	conn, err := d.DialContext(t.Context(), "tcp", lis.Addr().String())
	if err == nil {
		res.clientSaw = conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
		var msg []byte
		msg, err = io.ReadAll(io.LimitReader(conn, 2))
		if err == nil && string(msg) != "hi" {
			err = io.ErrUnexpectedEOF
		}
		_ = conn.Close()
	}
	res.clientErr = err
	<-served
	return res
}

func peerID(t *testing.T, c *x509.Certificate) spiffeid.ID {
	t.Helper()
	require.NotNil(t, c)
	id, err := x509svid.IDFromCert(c)
	require.NoError(t, err)
	return id
}

// TestWorkloadsCompleteMutualTLS is the point of the package: two apps get
// SVIDs from Sentry and talk mutual TLS over loopback TCP, each seeing the
// other's SPIFFE ID.
func TestWorkloadsCompleteMutualTLS(t *testing.T) {
	env := newTestEnv(t)
	a := readyClient(t, env.options(t, "app-a"))
	b := readyClient(t, env.options(t, "app-b"))

	tests := map[string]struct {
		serverAllows, clientAllows spiffeid.ID
		wantClientErr              bool // the client refuses the server
		wantServerErr              bool // the server refuses the client
	}{
		"each side accepts the other's ID":             {serverAllows: idA, clientAllows: idB},
		"a client refuses a server it did not ask for": {serverAllows: idA, clientAllows: idA, wantClientErr: true},
		"a server refuses a client it does not allow":  {serverAllows: idB, clientAllows: idB, wantServerErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := handshake(t, b.ServerTLSConfig(tlsconfig.AuthorizeID(tc.serverAllows)),
				a.ClientTLSConfig(tlsconfig.AuthorizeID(tc.clientAllows)))
			switch {
			case tc.wantClientErr:
				require.Error(t, res.clientErr)
				assert.Contains(t, res.clientErr.Error(), `unexpected ID "spiffe://public/ns/default/app-b"`)
			case tc.wantServerErr:
				require.Error(t, res.serverErr)
				assert.Contains(t, res.serverErr.Error(), `unexpected ID "spiffe://public/ns/default/app-a"`)
				assert.Error(t, res.clientErr, "the client learns of the refusal")
			default:
				require.NoError(t, res.clientErr)
				require.NoError(t, res.serverErr)
				assert.Equal(t, idB, peerID(t, res.clientSaw), "the client sees app-b")
				assert.Equal(t, idA, peerID(t, res.serverSaw), "the server sees app-a")
			}
		})
	}
}

func TestTLSConfigsFollowRenewal(t *testing.T) {
	env := newTestEnv(t)
	// The handshakes check dates on the real clock, the renewals run on the
	// fake one: backdating keeps the renewed certificates valid for both.
	env.sentry.backdate = time.Hour
	a := readyClient(t, env.options(t, "app-a"))
	b := readyClient(t, env.options(t, "app-b"))
	serverCfg := b.ServerTLSConfig(tlsconfig.AuthorizeID(idA))
	clientCfg := a.ClientTLSConfig(tlsconfig.AuthorizeID(idB))

	before := handshake(t, serverCfg, clientCfg)
	require.NoError(t, before.clientErr)
	require.NoError(t, before.serverErr)

	// Both renew (two timers on the fake clock); the same configs then
	// present the new certificates.
	require.Eventually(t, func() bool { return env.clock.Waiters() == 2 }, 5*time.Second, time.Millisecond)
	env.clock.Step(31 * time.Minute)
	require.Eventually(t, func() bool { return env.sentry.requestCount() == 4 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return serialOf(t, a) != before.serverSaw.SerialNumber.String() }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return serialOf(t, b) != before.clientSaw.SerialNumber.String() }, 5*time.Second, time.Millisecond)

	after := handshake(t, serverCfg, clientCfg)
	require.NoError(t, after.clientErr)
	require.NoError(t, after.serverErr)
	assert.Equal(t, serialOf(t, a), after.serverSaw.SerialNumber.String())
	assert.Equal(t, serialOf(t, b), after.clientSaw.SerialNumber.String())
}
