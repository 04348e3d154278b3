package udp

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ErrExhausted is returned when no port pair is free. The ng layer turns it
// into rtpengine's exact "Ran out of ports", which Kamailio fails over on.
var ErrExhausted = errors.New("port pool exhausted")

// Pool hands out RTP/RTCP port pairs from [min, max]: an even RTP port and
// RTP+1 for RTCP (RFC 3550 §11). Two properties defend against RTP Bleed
// and injection (security requirement A1):
//   - the next pair is drawn at random from all free pairs, from a
//     generator seeded by crypto/rand, so an attacker cannot predict the
//     ports of the next call from the last one;
//   - a released pair rests in quarantine before reuse, so late packets of
//     an ended call (or an attacker still spraying it) never reach the call
//     that gets the pair next.
//
// All methods are safe for concurrent use; the pool is touched only at
// call setup and teardown, never per packet.
type Pool struct {
	mu         sync.Mutex
	free       []uint16 // RTP ports of free pairs, unordered
	quarantine []held   // FIFO: release order is expiry order
	total      int
	hold       time.Duration
	now        func() time.Time
	rng        *rand.Rand
}

type held struct {
	port  uint16
	until time.Time
}

// NewPool covers [min, max] with pairs; min is rounded up to even and a
// pair needs both ports inside the range. hold is the quarantine time.
func NewPool(min, max int, hold time.Duration, now func() time.Time) (*Pool, error) {
	if min < 1024 || max > 65535 || min > max {
		return nil, fmt.Errorf("port range %d-%d: want 1024 <= min <= max <= 65535", min, max)
	}
	if now == nil {
		now = time.Now
	}
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("seeding port randomiser: %w", err)
	}
	p := &Pool{hold: hold, now: now, rng: rand.New(rand.NewChaCha8(seed))}
	for port := min + min%2; port+1 <= max; port += 2 {
		p.free = append(p.free, uint16(port))
	}
	p.total = len(p.free)
	if p.total == 0 {
		return nil, fmt.Errorf("port range %d-%d holds no RTP/RTCP pair", min, max)
	}
	return p, nil
}

// Get takes a random free pair and returns its RTP port.
func (p *Pool) Get() (uint16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expireLocked()
	if len(p.free) == 0 {
		return 0, ErrExhausted
	}
	i := p.rng.IntN(len(p.free))
	port := p.free[i]
	p.free[i] = p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return port, nil
}

// Put returns a pair to the pool through quarantine. It is also how a caller
// gives back a pair it could not bind (another process holds it): the pair
// rests and is retried later rather than handed out again at once.
func (p *Pool) Put(port uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold <= 0 {
		p.free = append(p.free, port)
		return
	}
	p.quarantine = append(p.quarantine, held{port: port, until: p.now().Add(p.hold)})
}

// PutUnused returns a pair that was bound but never advertised to anyone
// (the offer failed before its SDP left srtpgw): no packet can be on its
// way to it, so it skips quarantine and nothing of the failed call stays
// held.
func (p *Pool) PutUnused(port uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, port)
}

// Stats reports free pairs (ready now), pairs in quarantine, and the total.
func (p *Pool) Stats() (free, quarantined, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expireLocked()
	return len(p.free), len(p.quarantine), p.total
}

func (p *Pool) expireLocked() {
	now := p.now()
	n := 0
	for n < len(p.quarantine) && !now.Before(p.quarantine[n].until) {
		p.free = append(p.free, p.quarantine[n].port)
		n++
	}
	if n > 0 {
		p.quarantine = append(p.quarantine[:0], p.quarantine[n:]...)
	}
}
