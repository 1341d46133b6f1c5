package kubernetes

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// reviewKey identifies a token in the caches without keeping it.
type reviewKey [sha256.Size]byte

// keyOf hashes token.
func keyOf(token string) reviewKey { return sha256.Sum256([]byte(token)) }

// reviewCache is a size-bounded LRU of TokenReview outcomes (the identity
// of an accepted token, or the refusal of a rejected one), each valid until
// its own expiry.
type reviewCache[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *reviewEntry[V], most recently used first
	items map[reviewKey]*list.Element
}

type reviewEntry[V any] struct {
	key     reviewKey
	val     V
	expires time.Time
}

func newReviewCache[V any](size int) *reviewCache[V] {
	return &reviewCache[V]{max: size, order: list.New(), items: make(map[reviewKey]*list.Element)}
}

// get returns the value cached for key if it has not expired at now.
func (c *reviewCache[V]) get(key reviewKey, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*reviewEntry[V])
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// put caches val for key until expires, evicting the least recently used
// entry when full.
func (c *reviewCache[V]) put(key reviewKey, val V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*reviewEntry[V])
		e.val, e.expires = val, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*reviewEntry[V]).key)
	}
	c.items[key] = c.order.PushFront(&reviewEntry[V]{key: key, val: val, expires: expires})
}

// len returns the number of cached entries, expired or not.
func (c *reviewCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
