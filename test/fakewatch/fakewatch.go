package fakewatch

import (
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
)

// Timeout is how long Wait waits for a watch before failing the test.
const Timeout = 10 * time.Second

// Client is what the typed and the dynamic fake clientsets both offer.
type Client interface {
	PrependWatchReactor(resource string, reaction k8stesting.WatchReactionFunc)
	Tracker() k8stesting.ObjectTracker
}

// Watches records which resources a fake client has opened watches on.
type Watches struct {
	mu     sync.Mutex
	opened map[string]chan struct{}
}

// Track makes c record every watch it opens. The watch is registered with
// c's tracker before it is recorded, so a change made after Wait returns
// reaches it.
func Track(c Client) *Watches {
	w := &Watches{opened: map[string]chan struct{}{}}
	c.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		gvr := action.GetResource()
		wi, err := c.Tracker().Watch(gvr, action.GetNamespace())
		if err != nil {
			return false, nil, err
		}
		w.signal(gvr.Resource)
		return true, wi, nil
	})
	return w
}

// channel is closed once a watch on resource has been opened.
func (w *Watches) channel(resource string) chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.channelLocked(resource)
}

func (w *Watches) channelLocked(resource string) chan struct{} {
	ch, ok := w.opened[resource]
	if !ok {
		ch = make(chan struct{})
		w.opened[resource] = ch
	}
	return ch
}

func (w *Watches) signal(resource string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channelLocked(resource)
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// Wait returns once a watch on resource (plural, lower case: "configmaps")
// has been opened, and fails the test after Timeout.
func (w *Watches) Wait(t testing.TB, resource string) {
	t.Helper()
	w.WaitWithin(t, resource, Timeout)
}

// WaitWithin is Wait with a timeout of d.
func (w *Watches) WaitWithin(t testing.TB, resource string, d time.Duration) {
	t.Helper()
	select {
	case <-w.channel(resource):
	case <-time.After(d):
		t.Fatalf("no watch on %s was opened within %s", resource, d)
	}
}
