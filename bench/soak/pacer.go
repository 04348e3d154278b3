package main

import (
	"sync"
	"time"
)

// Sender is one paced media stream.
type Sender interface {
	Send()
}

// Pacer sends every stream once per period from one goroutine, with the
// period cut into slots ticks and streams spread over the slots so that the
// relay sees smooth traffic. Deadlines are absolute (start + k*tick): a late
// tick is caught up at once and never shifts later ones, so each stream
// sends exactly one packet per period. Unlike bench/load's Wheel, streams
// can be removed: the soak ends thousands of calls, and Remove guarantees
// that a stream is never sent again once it returns, which is what lets a
// call's loss be counted exactly before it is deleted.
type Pacer struct {
	period, tick time.Duration

	mu     sync.Mutex // held while a tick's streams are sent
	slots  []map[Sender]struct{}
	where  map[Sender]int
	maxLag time.Duration
}

// NewPacer cuts period into slots ticks.
func NewPacer(period time.Duration, slots int) *Pacer {
	slots = max(slots, 1)
	p := &Pacer{period: period, tick: period / time.Duration(slots), where: map[Sender]int{}}
	for range slots {
		p.slots = append(p.slots, map[Sender]struct{}{})
	}
	return p
}

// Add puts s into the least loaded slot; it is sent from that slot's next
// tick on.
func (p *Pacer) Add(s Sender) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := 0
	for i := range p.slots {
		if len(p.slots[i]) < len(p.slots[best]) {
			best = i
		}
	}
	p.slots[best][s] = struct{}{}
	p.where[s] = best
}

// Remove stops s. When it returns, s.Send is not running and never will.
func (p *Pacer) Remove(s Sender) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i, ok := p.where[s]; ok {
		delete(p.slots[i], s)
		delete(p.where, s)
	}
}

// Len is the number of streams being paced.
func (p *Pacer) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.where)
}

// MaxLag is the worst lateness of a tick so far and resets it: a large
// value means the soak tool itself was short of CPU.
func (p *Pacer) MaxLag() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.maxLag
	p.maxLag = 0
	return l
}

// Run paces until stop is closed.
func (p *Pacer) Run(stop <-chan struct{}) {
	start := time.Now()
	for k := 0; ; k++ {
		due := start.Add(time.Duration(k) * p.tick)
		if d := time.Until(due); d > 0 {
			time.Sleep(d) // at most one tick
		}
		select {
		case <-stop:
			return
		default:
		}
		p.mu.Lock()
		p.maxLag = max(p.maxLag, time.Since(due))
		for s := range p.slots[k%len(p.slots)] {
			s.Send()
		}
		p.mu.Unlock()
	}
}
