package kubernetes

import (
	"context"
	"sync"
)

// reviewResult is the outcome of one review: an identity, or a refusal.
type reviewResult struct {
	id  identity
	err error
}

// flights runs at most one review per token at a time, shared by every
// caller that asks about that token meanwhile, and at most cap(slots)
// reviews of all tokens at once; the others wait for a slot.
type flights struct {
	slots chan struct{}

	mu     sync.Mutex
	flying map[reviewKey]*flight
}

// flight is one review under way.
type flight struct {
	done    chan struct{} // closed when res is set
	res     reviewResult
	waiters int // guarded by flights.mu
	cancel  context.CancelFunc
}

func newFlights(concurrency int) *flights {
	return &flights{slots: make(chan struct{}, concurrency), flying: make(map[reviewKey]*flight)}
}

// do returns the result of review for key: of the review under way for
// key if there is one (shared reports that), else of a new one. The review
// runs detached from the caller, so that the caller who started it can
// leave without failing those who joined; do returns ctx's error when ctx
// ends first, and the last caller to leave cancels the review, whether it
// is waiting for a slot or running.
func (g *flights) do(ctx context.Context, key reviewKey, review func(context.Context) reviewResult) (res reviewResult, shared bool, err error) {
	g.mu.Lock()
	f, shared := g.flying[key]
	if !shared {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.flying[key] = f
		go g.run(fctx, key, f, review)
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.res, shared, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if f.waiters--; f.waiters == 0 {
			f.cancel()
			g.land(key, f) // a caller coming now starts afresh
		}
		return reviewResult{}, shared, ctx.Err()
	}
}

// run waits for a slot, reviews, and hands the result to the waiters.
func (g *flights) run(ctx context.Context, key reviewKey, f *flight, review func(context.Context) reviewResult) {
	defer f.cancel()
	select {
	case g.slots <- struct{}{}:
		f.res = review(ctx)
		<-g.slots
	case <-ctx.Done():
		f.res = reviewResult{err: ctx.Err()}
	}
	g.mu.Lock()
	g.land(key, f)
	g.mu.Unlock()
	close(f.done)
}

// land forgets f, unless a later flight already took its place; g.mu must
// be held.
func (g *flights) land(key reviewKey, f *flight) {
	if g.flying[key] == f {
		delete(g.flying, key)
	}
}

// len returns the number of flights under way.
func (g *flights) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.flying)
}
