package server

import (
	"context"

	"google.golang.org/grpc/stats"
)

// recycler is the stats handler that ties each gRPC connection to its
// limitConn, and recycles the connection of each request refused for what
// its caller sent (limitListener.recycle): a request too large, malformed
// or unauthenticated, wherever it was refused (gRPC refuses a too-large
// message before the handler runs).
type recycler struct{ ln *limitListener }

var _ stats.Handler = recycler{}

// connKey is the context key of the request's *limitConn.
type connKey struct{}

// connOf returns the connection of a request's context, or nil.
func connOf(ctx context.Context) *limitConn {
	c, _ := ctx.Value(connKey{}).(*limitConn)
	return c
}

// TagConn puts the connection in the context of the connection's requests
// and marks it serving.
func (r recycler) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	c := r.ln.lookup(info.RemoteAddr)
	if c == nil {
		return ctx
	}
	c.serving()
	return context.WithValue(ctx, connKey{}, c)
}

// HandleRPC recycles the connection of a request that ended refused.
func (r recycler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if end, ok := s.(*stats.End); ok && callerFault(end.Error) {
		r.ln.recycle(connOf(ctx))
	}
}

// TagRPC and HandleConn do nothing.
func (recycler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (recycler) HandleConn(context.Context, stats.ConnStats)                     {}
