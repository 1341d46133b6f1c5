package server

import (
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestListener listens on loopback with n slots; Accepted connections
// arrive on the returned channel until the test ends.
func newTestListener(t *testing.T, n int) (*limitListener, prometheus.Gauge, <-chan *limitConn) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	open := prometheus.NewGauge(prometheus.GaugeOpts{Name: "open"})
	ln := newLimitListener(inner, n, open)
	accepted := make(chan *limitConn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c.(*limitConn)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		for {
			select {
			case c := <-accepted:
				_ = c.Close()
			default:
				return
			}
		}
	})
	return ln, open, accepted
}

func dial(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func receive(t *testing.T, accepted <-chan *limitConn, within time.Duration) *limitConn {
	t.Helper()
	select {
	case c := <-accepted:
		return c
	case <-time.After(within):
		return nil
	}
}

func TestLimitListener_QueuesConnectionsBeyondItsLimit(t *testing.T) {
	ln, open, accepted := newTestListener(t, 2)
	dial(t, ln)
	dial(t, ln)
	first := receive(t, accepted, time.Second)
	require.NotNil(t, first)
	require.NotNil(t, receive(t, accepted, time.Second))
	assert.Equal(t, 2.0, testutil.ToFloat64(open))

	dial(t, ln)
	assert.Nil(t, receive(t, accepted, 300*time.Millisecond), "the third waits in the backlog, not refused")

	require.NoError(t, first.Close())
	_ = first.Close() // twice: still one slot given back
	assert.NotNil(t, receive(t, accepted, time.Second), "a closed connection lets the next one in")
	assert.Equal(t, 2.0, testutil.ToFloat64(open))
}

func TestLimitListener_RecyclesRefusedConnectionsOnlyWhenFull(t *testing.T) {
	ln, _, accepted := newTestListener(t, 2)
	client := dial(t, ln)
	c := receive(t, accepted, time.Second)
	require.NotNil(t, c)

	ln.recycle(c)
	time.Sleep(2 * recycleDelay)
	assert.False(t, c.recycling.Load(), "with a free slot a refused caller keeps its connection")

	dial(t, ln)
	require.NotNil(t, receive(t, accepted, time.Second))
	ln.recycle(c)
	require.NoError(t, client.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := client.Read(make([]byte, 1))
	assert.Error(t, err, "when full, the refused caller's connection is closed")
}

func TestLimitListener_SweepsIdleConnectionsWhileOthersWait(t *testing.T) {
	ln, _, accepted := newTestListener(t, 1)
	dial(t, ln)
	busy := receive(t, accepted, time.Second)
	require.NotNil(t, busy)
	busy.serving()
	done := busy.opened()

	dial(t, ln)
	assert.Nil(t, receive(t, accepted, idleWhenFull+3*sweepInterval), "a connection with a request open is not idle")

	done()
	start := time.Now()
	require.NotNil(t, receive(t, accepted, idleWhenFull+3*sweepInterval), "once idle for idleWhenFull it gives its slot up")
	assert.GreaterOrEqual(t, time.Since(start), idleWhenFull-sweepInterval)
}

func TestLimitListener_CloseWakesAWaitingAccept(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := newLimitListener(inner, 1, prometheus.NewGauge(prometheus.GaugeOpts{Name: "open"}))
	dial(t, ln)
	c, err := ln.Accept()
	require.NoError(t, err)
	defer c.Close()
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, ln.Close())
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(time.Second):
		t.Fatal("Accept still waits after Close")
	}
}
