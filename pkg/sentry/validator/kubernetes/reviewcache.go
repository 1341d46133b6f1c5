package kubernetes

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// reviewKey identifies a token in the cache without keeping it.
type reviewKey [sha256.Size]byte

// keyOf hashes token.
func keyOf(token string) reviewKey { return sha256.Sum256([]byte(token)) }

// reviewCache is a size-bounded LRU of successful TokenReviews, each valid
// until its own expiry.
type reviewCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *reviewEntry, most recently used first
	items map[reviewKey]*list.Element
}

type reviewEntry struct {
	key     reviewKey
	id      identity
	expires time.Time
}

func newReviewCache(size int) *reviewCache {
	return &reviewCache{max: size, order: list.New(), items: make(map[reviewKey]*list.Element)}
}

// get returns the identity cached for key if it has not expired at now.
func (c *reviewCache) get(key reviewKey, now time.Time) (identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return identity{}, false
	}
	e := el.Value.(*reviewEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return identity{}, false
	}
	c.order.MoveToFront(el)
	return e.id, true
}

// put caches id for key until expires, evicting the least recently used
// entry when full.
func (c *reviewCache) put(key reviewKey, id identity, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*reviewEntry)
		e.id, e.expires = id, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*reviewEntry).key)
	}
	c.items[key] = c.order.PushFront(&reviewEntry{key: key, id: id, expires: expires})
}

// len returns the number of cached entries, expired or not.
func (c *reviewCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
