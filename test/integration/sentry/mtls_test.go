package sentry

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/security"
)

func workload(t *testing.T, p *sentryProc, appID string) *security.Client {
	t.Helper()
	c, err := security.New(security.Options{
		SentryAddress:    p.GRPCAddr,
		SentryID:         p.ID,
		TrustAnchorsFile: filepath.Join(p.dir, "ca.crt"),
		AppID:            appID,
		Namespace:        "shop",
	})
	require.NoError(t, err)
	ctx := t.Context()
	done := make(chan error, 1)
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- c.Start(cctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	require.NoError(t, c.WaitReady(ctx))
	return c
}

func TestTwoWorkloadsWithSentrySVIDsCompleteMutualTLS(t *testing.T) {
	p := startSentry(t, t.TempDir())
	orders := workload(t, p, "orders")
	payments := workload(t, p, "payments")
	ordersID := spiffeid.RequireFromString("spiffe://public/ns/shop/orders")
	paymentsID := spiffeid.RequireFromString("spiffe://public/ns/shop/payments")

	ln, err := tls.Listen("tcp", "127.0.0.1:0", payments.ServerTLSConfig(tlsconfig.AuthorizeID(ordersID)))
	require.NoError(t, err)
	defer ln.Close()

	serverSaw := make(chan spiffeid.ID, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				tc := conn.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					return
				}
				if id, err := x509svid.IDFromCert(tc.ConnectionState().PeerCertificates[0]); err == nil {
					serverSaw <- id
				}
				_, _ = io.Copy(conn, conn)
			}()
		}
	}()

	conn, err := tls.Dial("tcp", ln.Addr().String(), orders.ClientTLSConfig(tlsconfig.AuthorizeID(paymentsID)))
	require.NoError(t, err, "mutual TLS handshake")
	defer conn.Close()
	clientSaw, err := x509svid.IDFromCert(conn.ConnectionState().PeerCertificates[0])
	require.NoError(t, err)
	assert.Equal(t, paymentsID, clientSaw, "orders sees payments")
	assert.Equal(t, ordersID, <-serverSaw, "payments sees orders")

	_, err = conn.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(conn, buf)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(buf))

	t.Run("a peer expecting someone else refuses the handshake", func(t *testing.T) {
		other := spiffeid.RequireFromString("spiffe://public/ns/shop/inventory")
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		tc := tls.Client(c, orders.ClientTLSConfig(tlsconfig.AuthorizeID(other)))
		assert.Error(t, tc.Handshake())
	})
}
