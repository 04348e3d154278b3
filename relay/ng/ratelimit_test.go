package ng

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(clock.Now, time.Second, 3)
	steps := []struct {
		advance    time.Duration
		want       bool
		suppressed uint64
	}{
		{0, true, 0}, {0, true, 0}, {0, true, 0}, // the burst
		{0, false, 0}, {0, false, 0}, // empty
		{time.Second, true, 2}, // one token back; reports the two refused
		{0, false, 0},
		{10 * time.Second, true, 1}, // refills to the burst, not beyond
		{0, true, 0}, {0, true, 0}, {0, false, 0},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		ok, n := l.allow()
		if ok != st.want || n != st.suppressed {
			t.Fatalf("step %d: allow() = %v, %d; want %v, %d", i, ok, n, st.want, st.suppressed)
		}
	}
}

func TestSourceLimiter(t *testing.T) {
	clock := newFakeClock()
	s := newSourceLimiter(clock.Now, time.Minute, 2, newLimiter(clock.Now, time.Second, 100))
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	if !s.allow(a) || s.allow(a) {
		t.Fatal("a source is reported once per interval")
	}
	if !s.allow(b) {
		t.Fatal("a second source is reported")
	}
	clock.Advance(59 * time.Second)
	if s.allow(a) {
		t.Fatal("a reported again inside the interval")
	}
	clock.Advance(time.Second)
	if !s.allow(a) {
		t.Fatal("a not reported after the interval")
	}
	// The memory is bounded: a third source clears it.
	if !s.allow(c) || len(s.seen) > 2 {
		t.Fatalf("bounded memory holds %d sources", len(s.seen))
	}
	// The global bucket caps many distinct sources (a spoofed flood).
	g := newSourceLimiter(clock.Now, time.Minute, 4096, newLimiter(clock.Now, time.Second, 20))
	reported := 0
	for i := range 1000 {
		if g.allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})) {
			reported++
		}
	}
	if reported != 20 {
		t.Fatalf("%d of 1000 distinct sources reported, want the burst of 20", reported)
	}
}

// A flood of junk produces a bounded number of log lines.
func TestDropLoggingIsRateLimited(t *testing.T) {
	var logs bytes.Buffer
	clock := newFakeClock()
	s := NewServer(newFakeEngine(), Config{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 1000 {
		s.Handle(context.Background(), []byte("nocookie"), loopClient)
	}
	if n := strings.Count(logs.String(), "datagram dropped"); n != 10 {
		t.Fatalf("%d log lines for 1000 drops, want the burst of 10", n)
	}
	clock.Advance(time.Second)
	s.Handle(context.Background(), []byte("nocookie"), loopClient)
	if !strings.Contains(logs.String(), "suppressed=990") {
		t.Fatalf("the next line does not report the suppressed count:\n%s", logs.String())
	}
	if s.Stats().Dropped[DropNoCookie] != 1001 {
		t.Fatal("every drop is counted even when not logged")
	}
}
