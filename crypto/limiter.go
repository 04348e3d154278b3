package crypto

import (
	"fmt"
	"net/netip"
	"sync"
)

// HandshakeLimiter caps concurrent DTLS handshakes globally and per source IP address
// (security requirement A4: a handshake costs an ECDHE and an ECDSA operation, so a flood
// of calls pointing at one address must not starve the rest). Acquire never waits: when no
// slot is free the handshake fails at once with ErrHandshakeLimit. Safe for concurrent use.
//
// The per-source key is the IP address without the port, IPv4-mapped IPv6 unmapped, so one
// host cannot dodge the cap by changing ports.
type HandshakeLimiter struct {
	global, perSource int

	mu       sync.Mutex // guards active and bySource
	active   int
	bySource map[netip.Addr]int
}

// NewHandshakeLimiter returns a limiter allowing global concurrent handshakes in total and
// perSource from one address. A value <= 0 means no limit on that dimension.
func NewHandshakeLimiter(global, perSource int) *HandshakeLimiter {
	return &HandshakeLimiter{global: global, perSource: perSource, bySource: map[netip.Addr]int{}}
}

// Acquire takes a slot for a handshake with src. On success it returns a release function
// that must be called exactly once when the handshake ends (further calls do nothing).
func (l *HandshakeLimiter) Acquire(src netip.AddrPort) (release func(), err error) {
	addr := src.Addr().Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.global > 0 && l.active >= l.global {
		return nil, fmt.Errorf("%w: %d in progress (global cap)", ErrHandshakeLimit, l.active)
	}
	if l.perSource > 0 && l.bySource[addr] >= l.perSource {
		return nil, fmt.Errorf("%w: %d in progress with this peer (per-source cap)", ErrHandshakeLimit, l.bySource[addr])
	}
	l.active++
	l.bySource[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.active--
			if l.bySource[addr]--; l.bySource[addr] <= 0 {
				delete(l.bySource, addr)
			}
		})
	}, nil
}

// Active returns the number of handshakes holding a slot (for metrics).
func (l *HandshakeLimiter) Active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active
}
