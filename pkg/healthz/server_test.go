package healthz_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/healthz"
)

// serve serves a Handler with limits l on loopback until the test ends.
func serve(t *testing.T, l healthz.ServerLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- healthz.ServeServer(ctx, ln, healthz.NewServer(healthz.New(), l)) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return err == nil // EOF: the server closed it; a timeout is an error
}

func TestServer_ClosesAnIdleKeepAliveConnection(t *testing.T) {
	l := healthz.DefaultServerLimits()
	l.IdleTimeout = 200 * time.Millisecond
	addr := serve(t, l)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /livez HTTP/1.1\r\nHost: sentry\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.False(t, resp.Close, "the connection is kept alive")
	_, _ = io.Copy(io.Discard, resp.Body)

	start := time.Now()
	assert.True(t, closedWithin(c, 5*time.Second), "the idle connection is closed")
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestServer_ClosesAConnectionThatNeverSendsItsHeaders(t *testing.T) {
	l := healthz.DefaultServerLimits()
	l.ReadHeaderTimeout = 200 * time.Millisecond
	addr := serve(t, l)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /livez HTTP/1.1\r\n")
	require.NoError(t, err)
	assert.True(t, closedWithin(c, 5*time.Second))
}

func TestServer_RefusesLargeHeaders(t *testing.T) {
	addr := serve(t, healthz.DefaultServerLimits())
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/livez", nil)
	require.NoError(t, err)
	req.Header.Set("X-Padding", strings.Repeat("p", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

func TestDefaultServerLimits_AreAllSet(t *testing.T) {
	l := healthz.DefaultServerLimits()
	for name, v := range map[string]time.Duration{
		"ReadHeaderTimeout": l.ReadHeaderTimeout, "ReadTimeout": l.ReadTimeout, "WriteTimeout": l.WriteTimeout, "IdleTimeout": l.IdleTimeout,
	} {
		assert.Positive(t, v, name)
	}
	assert.Equal(t, 8<<10, l.MaxHeaderBytes)
}
