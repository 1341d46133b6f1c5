package server

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/tap"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

// admission bounds the requests open across all connections, and counts
// each connection's (for limitListener's sweep). It runs as
// the transport's tap.ServerInHandle: on a request's headers, before any
// of its message is read, so that a refused request costs its headers
// only. A request for another method than SignCertificate is refused
// (Unimplemented) and its connection recycled; one beyond max is refused
// with ResourceExhausted, which Dapr's clients retry; an admitted one is
// cancelled after timeout, so that a caller who never sends its message
// cannot keep its slot.
type admission struct {
	max     int64
	timeout time.Duration
	open    atomic.Int64
	shed    prometheus.Counter
	ln      *limitListener
}

// admit takes a slot for the request and gives it back when the request's
// context ends: gRPC cancels it when the request finishes, fails or its
// connection closes. It must not block: gRPC calls it holding the
// connection's lock.
func (a *admission) admit(ctx context.Context, info *tap.Info) (context.Context, error) {
	conn := connOf(ctx)
	if info.FullMethodName != sentryv1.CA_SignCertificate_FullMethodName {
		a.ln.recycle(conn)
		return ctx, unimplemented(info.FullMethodName)
	}
	if a.open.Add(1) > a.max {
		a.open.Add(-1)
		a.shed.Inc()
		return ctx, overloaded()
	}
	closed := func() {}
	if conn != nil {
		closed = conn.opened()
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	context.AfterFunc(ctx, func() {
		cancel()
		closed()
		a.open.Add(-1)
	})
	return ctx, nil
}
