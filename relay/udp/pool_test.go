package udp

import (
	"errors"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestPoolRangeValidation(t *testing.T) {
	for _, tc := range []struct{ min, max int }{
		{80, 2000}, {3000, 2000}, {30000, 70000}, {30001, 30001},
	} {
		if _, err := NewPool(tc.min, tc.max, 0, nil); err == nil {
			t.Errorf("NewPool(%d, %d) accepted", tc.min, tc.max)
		}
	}
}

func TestPoolPairsAreEvenAndInRange(t *testing.T) {
	p, err := NewPool(30001, 30010, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, total := p.Stats()
	if total != 4 { // 30002, 30004, 30006, 30008 (30010 has no 30011)
		t.Fatalf("total pairs = %d, want 4", total)
	}
	seen := map[uint16]bool{}
	for range total {
		port, err := p.Get()
		if err != nil {
			t.Fatal(err)
		}
		if port%2 != 0 || port < 30002 || port+1 > 30010 || seen[port] {
			t.Fatalf("bad or repeated port %d", port)
		}
		seen[port] = true
	}
	if _, err := p.Get(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Get on empty pool: %v, want ErrExhausted", err)
	}
}

func TestPoolQuarantine(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p, err := NewPool(30000, 30001, 10*time.Second, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	port, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	p.Put(port)
	if _, err := p.Get(); !errors.Is(err, ErrExhausted) {
		t.Fatalf("quarantined port handed out again: %v", err)
	}
	free, q, _ := p.Stats()
	if free != 0 || q != 1 {
		t.Fatalf("stats free=%d quarantined=%d, want 0/1", free, q)
	}
	clk.t = clk.t.Add(10 * time.Second)
	got, err := p.Get()
	if err != nil || got != port {
		t.Fatalf("after quarantine Get = %d, %v; want %d", got, err, port)
	}
}

// TestPoolNotSequential checks that the next pair is not predictable from the
// previous one: over many draws from a large range, consecutive pairs are
// rarely neighbours. A sequential allocator would fail every time.
func TestPoolNotSequential(t *testing.T) {
	p, err := NewPool(20000, 39999, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := p.Get()
	neighbours := 0
	const draws = 500
	for range draws {
		port, err := p.Get()
		if err != nil {
			t.Fatal(err)
		}
		if d := int(port) - int(prev); d == 2 || d == -2 {
			neighbours++
		}
		prev = port
	}
	// With 10000 pairs the chance of a neighbour is ~2/10000 per draw.
	if neighbours > 5 {
		t.Fatalf("%d of %d draws were the neighbouring pair", neighbours, draws)
	}
}

// TestPoolTwoPoolsDiffer: two pools over the same range (two processes, or a
// restart) must not produce the same sequence.
func TestPoolTwoPoolsDiffer(t *testing.T) {
	a, _ := NewPool(20000, 39999, 0, nil)
	b, _ := NewPool(20000, 39999, 0, nil)
	same := 0
	for range 20 {
		x, _ := a.Get()
		y, _ := b.Get()
		if x == y {
			same++
		}
	}
	if same > 2 {
		t.Fatalf("two pools agreed on %d of 20 draws", same)
	}
}
