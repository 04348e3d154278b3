package ng

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

const offerMsg = "7301_1 d7:command5:offer3:sdp3:v=07:call-id1:c8:from-tag1:fe"

// waitFor polls cond until it holds. It synchronises on state, not on
// elapsed time; the deadline only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A retransmission arriving while the offer is still being processed
// waits for it and gets the same bytes; the engine runs once.
func TestCacheCoalescesInFlight(t *testing.T) {
	e := newFakeEngine()
	e.gate, e.started = make(chan struct{}), make(chan struct{}, 1)
	s := NewServer(e, Config{})
	const copies = 5
	replies := make([][]byte, copies)
	var wg sync.WaitGroup
	wg.Go(func() { replies[0] = s.Handle(context.Background(), []byte(offerMsg), loopClient) })
	<-e.started // the original is inside the engine now
	for i := 1; i < copies; i++ {
		wg.Go(func() { replies[i] = s.Handle(context.Background(), []byte(offerMsg), loopClient) })
	}
	waitFor(t, "duplicates to reach the cache", func() bool { return s.Stats().CacheHits == copies-1 })
	close(e.gate)
	wg.Wait()
	if n := e.offerCount(); n != 1 {
		t.Fatalf("engine called %d times, want 1", n)
	}
	want := "7301_1 d3:sdp14:v=0\r\no=offer\r\n6:result2:oke"
	for i, r := range replies {
		if string(r) != want {
			t.Errorf("reply %d = %q, want %q", i, r, want)
		}
	}
}

func TestCacheRetransmissionAfterReply(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	first := s.Handle(context.Background(), []byte(offerMsg), loopClient)
	e.offerSDP = []byte("different") // a second engine call would show
	for range 4 {
		if again := s.Handle(context.Background(), []byte(offerMsg), loopClient); !bytes.Equal(again, first) {
			t.Fatalf("retransmission got %q, want %q", again, first)
		}
	}
	if n := e.offerCount(); n != 1 {
		t.Fatalf("engine called %d times, want 1", n)
	}
	// Error replies are cached too, as in rtpengine.
	bad := []byte("e1 d7:command5:offere")
	r1 := s.Handle(context.Background(), bad, loopClient)
	if r2 := s.Handle(context.Background(), bad, loopClient); !bytes.Equal(r1, r2) || s.Stats().CacheHits != 5 {
		t.Fatalf("error reply not cached: %q %q", r1, r2)
	}
}

// Two proxies whose cookies collide are different requests
// (sipwise/rtpengine#1867): the cache key includes the sender.
func TestCacheKeyIncludesSender(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	s.Handle(context.Background(), []byte(offerMsg), loopClient)
	s.Handle(context.Background(), []byte(offerMsg), otherPort)
	if n := e.offerCount(); n != 2 {
		t.Fatalf("engine called %d times for two senders, want 2", n)
	}
	if s.Stats().CacheHits != 0 {
		t.Fatal("a different sender was answered from the cache")
	}
}

func TestCacheTTL(t *testing.T) {
	tests := []struct {
		name  string
		ttl   time.Duration
		steps []time.Duration // clock advances before each retransmission
		calls []int           // engine calls after each step
	}{
		// Kept at least 60 s; swapped lazily, so an entry can live up to 2 TTLs.
		{"kept through two generations", 60 * time.Second, []time.Duration{59 * time.Second, 60 * time.Second, 61 * time.Second}, []int{1, 1, 2}},
		{"expired after two idle TTLs", 60 * time.Second, []time.Duration{120 * time.Second}, []int{2}},
		{"minimum 60 s", time.Second, []time.Duration{30 * time.Second, 59 * time.Second}, []int{1, 1}},
		{"longer TTL", 5 * time.Minute, []time.Duration{4 * time.Minute, 5 * time.Minute}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			e := newFakeEngine()
			s := NewServer(e, Config{Now: clock.Now, CacheTTL: tt.ttl})
			s.Handle(context.Background(), []byte(offerMsg), loopClient)
			for i, d := range tt.steps {
				clock.Advance(d)
				s.Handle(context.Background(), []byte(offerMsg), loopClient)
				if n := e.offerCount(); n != tt.calls[i] {
					t.Fatalf("after step %d (+%v): engine calls %d, want %d", i, d, n, tt.calls[i])
				}
			}
		})
	}
}

// The cache is bounded; when the bound forces an early swap, replies
// still being computed survive it, so coalescing never breaks.
func TestCacheBoundKeepsInFlight(t *testing.T) {
	e := newFakeEngine()
	e.gate, e.started = make(chan struct{}), make(chan struct{}, 1)
	s := NewServer(e, Config{CacheMax: 4})
	var wg sync.WaitGroup
	var first, dup []byte
	wg.Go(func() { first = s.Handle(context.Background(), []byte(offerMsg), loopClient) })
	<-e.started
	for i := range 20 {
		roundTrip(t, s, fmt.Sprintf("p%d d7:command4:pinge", i))
	}
	st := s.Stats()
	if st.CacheEntries > 4 || st.CacheEvictions == 0 {
		t.Fatalf("entries %d evictions %d; want <= 4 entries and some evictions", st.CacheEntries, st.CacheEvictions)
	}
	wg.Go(func() { dup = s.Handle(context.Background(), []byte(offerMsg), loopClient) })
	waitFor(t, "the duplicate to reach the cache", func() bool { return s.Stats().CacheHits == 1 })
	close(e.gate)
	wg.Wait()
	if e.offerCount() != 1 || !bytes.Equal(first, dup) || len(first) == 0 {
		t.Fatalf("engine calls %d, replies %q and %q", e.offerCount(), first, dup)
	}
}

// A waiting duplicate gives up when its context ends; the original still
// completes and is cached.
func TestCacheWaiterCancelled(t *testing.T) {
	e := newFakeEngine()
	e.gate, e.started = make(chan struct{}), make(chan struct{}, 1)
	s := NewServer(e, Config{})
	var wg sync.WaitGroup
	wg.Go(func() { s.Handle(context.Background(), []byte(offerMsg), loopClient) })
	<-e.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := s.Handle(ctx, []byte(offerMsg), loopClient); got != nil {
		t.Fatalf("cancelled waiter got %q", got)
	}
	close(e.gate)
	wg.Wait()
	if got := roundTrip(t, s, offerMsg); got != "7301_1 d3:sdp14:v=0\r\no=offer\r\n6:result2:oke" || e.offerCount() != 1 {
		t.Fatalf("after cancel: %q, %d engine calls", got, e.offerCount())
	}
}

func TestCacheByteBound(t *testing.T) {
	clock := newFakeClock()
	c := newReplyCache(clock.Now, time.Minute, 100, 1000)
	for i := range 10 {
		k := cacheKey{from: loopClient, cookie: fmt.Sprint(i)}
		e, dup := c.begin(k)
		if dup {
			t.Fatal("fresh key reported as duplicate")
		}
		c.finish(k, e, make([]byte, 300))
		if c.curBytes+c.oldBytes > 1000 {
			t.Fatalf("after %d replies the cache holds %d bytes, bound 1000", i+1, c.curBytes+c.oldBytes)
		}
	}
	if _, ev := c.stats(); ev == 0 {
		t.Fatal("byte bound never forced a swap")
	}
}
