package ng

import (
	"net/netip"
	"sync"
	"time"
)

// The reply cache makes retransmissions idempotent. Kamailio resends the
// identical datagram up to five times, one second apart, when a reply is
// late (ng-protocol.md b.3); without the cache each copy of an `offer`
// would allocate ports again. Like rtpengine's cookie_cache.c it
//
//   - coalesces: a copy that arrives while the original is being processed
//     waits for it and gets the same bytes;
//   - keeps replies, errors included, for at least the TTL (60 s), in two
//     generations swapped every TTL;
//
// and unlike it, keys entries by (sender address:port, cookie): two proxies
// whose cookies collide are not each other's duplicates
// (sipwise/rtpengine#1867). Its size is bounded by entries and bytes; when
// a bound is hit the generations swap early (counted as an eviction) and
// replies still being computed are carried over, so coalescing never
// breaks.

type cacheKey struct {
	from   netip.AddrPort
	cookie string
}

type cacheEntry struct {
	done  chan struct{} // closed when reply is set
	reply []byte
	final bool // reply set; guarded by replyCache.mu
}

type replyCache struct {
	mu        sync.Mutex
	now       func() time.Time
	ttl       time.Duration
	maxItems  int
	maxBytes  int
	cur, old  map[cacheKey]*cacheEntry
	curBytes  int
	oldBytes  int
	rotated   time.Time
	evictions uint64
}

func newReplyCache(now func() time.Time, ttl time.Duration, maxItems, maxBytes int) *replyCache {
	return &replyCache{
		now: now, ttl: ttl, maxItems: maxItems, maxBytes: maxBytes,
		cur: map[cacheKey]*cacheEntry{}, old: map[cacheKey]*cacheEntry{},
		rotated: now(),
	}
}

// begin returns the entry for k. If dup is false the caller owns the new
// entry and must call finish on it; otherwise it waits on entry.done.
func (c *replyCache) begin(k cacheKey) (e *cacheEntry, dup bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked()
	if e := c.cur[k]; e != nil {
		return e, true
	}
	if e := c.old[k]; e != nil {
		return e, true
	}
	c.shrinkLocked(func() bool { return len(c.cur)+len(c.old) >= c.maxItems })
	e = &cacheEntry{done: make(chan struct{})}
	c.cur[k] = e
	return e, false
}

// finish publishes the reply of an entry begun with begin.
func (c *replyCache) finish(k cacheKey, e *cacheEntry, reply []byte) {
	c.mu.Lock()
	e.reply, e.final = reply, true
	if c.cur[k] == e {
		c.curBytes += len(reply)
	} else if c.old[k] == e {
		c.oldBytes += len(reply)
	}
	c.shrinkLocked(func() bool { return c.curBytes+c.oldBytes > c.maxBytes })
	c.mu.Unlock()
	close(e.done)
}

// expireLocked swaps generations once per TTL. An entry lives in cur until
// the next swap and in old until the one after, so it is kept for at least
// one TTL after it was added (swaps are lazy, never early on time alone).
func (c *replyCache) expireLocked() {
	el := c.now().Sub(c.rotated)
	if el < c.ttl {
		return
	}
	c.rotateLocked()
	if el >= 2*c.ttl { // both generations are past their time
		c.rotateLocked()
	}
}

// shrinkLocked swaps generations early while over() holds. Two swaps
// leave only entries in flight, so it stops there.
func (c *replyCache) shrinkLocked(over func() bool) {
	for i := 0; i < 2 && over(); i++ {
		c.rotateLocked()
		c.evictions++
	}
}

// rotateLocked drops the old generation, except entries still in flight,
// which move to the new current one.
func (c *replyCache) rotateLocked() {
	next := map[cacheKey]*cacheEntry{}
	for k, e := range c.old {
		if !e.final {
			next[k] = e
		}
	}
	c.old, c.oldBytes = c.cur, c.curBytes
	c.cur, c.curBytes = next, 0
	c.rotated = c.now()
}

func (c *replyCache) stats() (entries int, evictions uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old), c.evictions
}
