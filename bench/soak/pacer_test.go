package main

import (
	"sync/atomic"
	"testing"
	"time"
)

type countSender struct{ n atomic.Int64 }

func (c *countSender) Send() { c.n.Add(1) }

// TestPacerRemove: once Remove returns, the stream is never sent again,
// and the others keep going.
func TestPacerRemove(t *testing.T) {
	p := NewPacer(2*time.Millisecond, 4)
	a, b := &countSender{}, &countSender{}
	p.Add(a)
	p.Add(b)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { p.Run(stop); close(done) }()
	defer func() { close(stop); <-done }()
	waitCount := func(c *countSender, n int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for c.n.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d sends", c.n.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitCount(a, 5)
	p.Remove(a)
	frozen := a.n.Load()
	before := b.n.Load()
	waitCount(b, before+20)
	if got := a.n.Load(); got != frozen {
		t.Fatalf("removed stream sent %d more times", got-frozen)
	}
	if p.Len() != 1 {
		t.Fatalf("Len %d, want 1", p.Len())
	}
	p.Remove(a) // removing twice is harmless
}

// TestPacerSpreads: streams go to the least loaded slot, so slot sizes
// differ by at most one.
func TestPacerSpreads(t *testing.T) {
	for _, n := range []int{1, 7, 50, 101} {
		p := NewPacer(20*time.Millisecond, 10)
		for range n {
			p.Add(&countSender{})
		}
		lo, hi := n, 0
		for _, s := range p.slots {
			lo, hi = min(lo, len(s)), max(hi, len(s))
		}
		if hi-lo > 1 {
			t.Fatalf("%d streams: slot sizes %d..%d", n, lo, hi)
		}
	}
}
