package ng

import (
	"net/netip"
	"sync"
	"time"
)

// Anomalies are logged and reported at a bounded rate (DESIGN §8): a flood
// of junk datagrams must not turn into a flood of log lines or audit
// records, which would cost more than the datagrams and could push real
// records out.

// limiter is a token bucket on the server's clock.
type limiter struct {
	mu         sync.Mutex
	now        func() time.Time
	every      time.Duration // one token per every
	burst      float64
	tokens     float64
	last       time.Time
	suppressed uint64
}

func newLimiter(now func() time.Time, every time.Duration, burst int) *limiter {
	return &limiter{now: now, every: every, burst: float64(burst), tokens: float64(burst)}
}

// allow takes a token. When it gets one it also returns how many calls
// were refused since the last success, for a "N suppressed" note.
func (l *limiter) allow() (ok bool, suppressed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		if el := now.Sub(l.last); el > 0 {
			l.tokens = min(l.burst, l.tokens+float64(el)/float64(l.every))
		}
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	s := l.suppressed
	l.suppressed = 0
	return true, s
}

// sourceLimiter reports each source at most once per interval, and all
// sources together at the rate of a limiter. The per-source memory is
// bounded; when it is full it is forgotten wholesale, which at worst lets
// a source be reported early.
type sourceLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	interval time.Duration
	seen     map[netip.Addr]time.Time
	max      int
	global   *limiter
}

func newSourceLimiter(now func() time.Time, interval time.Duration, maxSources int, global *limiter) *sourceLimiter {
	return &sourceLimiter{now: now, interval: interval, seen: map[netip.Addr]time.Time{}, max: maxSources, global: global}
}

func (s *sourceLimiter) allow(a netip.Addr) bool {
	// One critical section for check and record: datagrams from one
	// source are handled concurrently, and each must not both pass.
	// The global limiter never takes s.mu, so nesting cannot deadlock.
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if t, ok := s.seen[a]; ok && now.Sub(t) < s.interval {
		return false
	}
	if ok, _ := s.global.allow(); !ok {
		return false
	}
	if len(s.seen) >= s.max {
		clear(s.seen)
	}
	s.seen[a] = now
	return true
}
