package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// limitListener accepts at most cap(slots) connections at once. While that
// many are open, Accept waits: further connections queue in the kernel's
// accept backlog (net.core.somaxconn, 4096 by default) at no cost to
// Sentry, and are served first come first served as connections close.
//
// Waiting rather than accepting and closing the excess (which would cost
// no more) is what keeps a cluster restart working: thousands of sidecars
// that each open one connection for one request are delayed by
// milliseconds, where closed connections would fail their calls and burn
// the five retries Dapr's client makes 50 ms apart.
//
// So that the queue moves while every slot is taken, the connections that
// hold one without good use give it back: the handshake, idle and age
// timeouts close theirs, and while Accept waits it closes connections
// that carried a refused request (recycle) or have had no request open
// for idleWhenFull (sweep). golang.org/x/net/netutil.LimitListener only
// waits; this one also recycles and reports the open connections.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	open      prometheus.Gauge
	full      atomic.Bool // Accept waits for a slot

	mu    sync.Mutex
	conns map[string]*limitConn // by remote address
}

// Recycling while every slot is taken.
const (
	// recycleDelay is how long a refused caller's connection lives after
	// the refusal: its response is written first.
	recycleDelay = 100 * time.Millisecond
	// idleWhenFull is how long a connection may go without a request open
	// while connections wait for a slot. Dapr's clients send their request
	// as soon as the connection is up.
	idleWhenFull = time.Second
	// sweepInterval is how often a waiting Accept looks for idle ones.
	sweepInterval = 250 * time.Millisecond
)

func newLimitListener(ln net.Listener, n int, open prometheus.Gauge) *limitListener {
	return &limitListener{
		Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{}), open: open,
		conns: map[string]*limitConn{},
	}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	lc := &limitConn{Conn: c, key: c.RemoteAddr().String(), l: l}
	l.mu.Lock()
	l.conns[lc.key] = lc
	l.mu.Unlock()
	l.open.Inc()
	return lc, nil
}

// acquire takes a slot, sweeping idle connections while there is none.
func (l *limitListener) acquire() error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	l.full.Store(true)
	defer l.full.Store(false)
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	for {
		l.sweep()
		select {
		case l.slots <- struct{}{}:
			return nil
		case <-l.done:
			return net.ErrClosed
		case <-tick.C:
		}
	}
}

// sweep closes the connections that have had no request open for
// idleWhenFull.
func (l *limitListener) sweep() {
	cutoff := time.Now().Add(-idleWhenFull).UnixNano()
	var idle []*limitConn
	l.mu.Lock()
	for _, c := range l.conns {
		if since := c.idleSince.Load(); since != 0 && since < cutoff && c.streams.Load() == 0 {
			idle = append(idle, c)
		}
	}
	l.mu.Unlock()
	for _, c := range idle {
		_ = c.Close()
	}
}

// Close closes the listener and wakes a waiting Accept.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// lookup returns the open connection from addr, or nil.
func (l *limitListener) lookup(addr net.Addr) *limitConn {
	if addr == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[addr.String()]
}

// recycle closes c, recycleDelay from now, if every slot is taken: other
// connections wait for one, and a caller that was refused should wait
// behind them rather than try again at once. With free slots it does
// nothing, so that a client may go on using a connection after a refusal.
func (l *limitListener) recycle(c *limitConn) {
	if c == nil || !l.full.Load() {
		return
	}
	if c.recycling.CompareAndSwap(false, true) {
		time.AfterFunc(recycleDelay, func() { _ = c.Close() })
	}
}

func (l *limitListener) release(c *limitConn) {
	l.mu.Lock()
	delete(l.conns, c.key)
	l.mu.Unlock()
	l.open.Dec()
	<-l.slots
}

// limitConn holds a slot until it is closed.
type limitConn struct {
	net.Conn
	key       string
	l         *limitListener
	once      sync.Once
	recycling atomic.Bool
	streams   atomic.Int32 // requests open
	idleSince atomic.Int64 // unix nanoseconds; 0 until the connection serves
}

// Close closes the connection and gives its slot back, once.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

// serving marks the connection ready for requests (TLS and HTTP/2 set up).
func (c *limitConn) serving() { c.idleSince.Store(time.Now().UnixNano()) }

// opened counts a request open on the connection until done is called.
func (c *limitConn) opened() (done func()) {
	c.streams.Add(1)
	return func() {
		c.idleSince.Store(time.Now().UnixNano())
		c.streams.Add(-1)
	}
}
