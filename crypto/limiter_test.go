package crypto

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
)

func TestHandshakeLimiter(t *testing.T) {
	h1 := netip.MustParseAddrPort("192.0.2.1:1000")
	h1other := netip.MustParseAddrPort("192.0.2.1:2000")
	h1mapped := netip.MustParseAddrPort("[::ffff:192.0.2.1]:3000")
	h2 := netip.MustParseAddrPort("192.0.2.2:1000")
	h3 := netip.MustParseAddrPort("[2001:db8::3]:1000")

	l := NewHandshakeLimiter(3, 2)
	r1, err := l.Acquire(h1)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Acquire(h1other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(h1mapped); !errors.Is(err, ErrHandshakeLimit) {
		t.Fatalf("third from one host (other port, v4-mapped): err = %v, want ErrHandshakeLimit", err)
	}
	r3, err := l.Acquire(h2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(h3); !errors.Is(err, ErrHandshakeLimit) {
		t.Fatalf("global cap: err = %v", err)
	}
	if l.Active() != 3 {
		t.Fatalf("Active = %d", l.Active())
	}
	r1()
	r1() // releasing twice must not free a second slot
	if l.Active() != 2 {
		t.Fatalf("Active after release = %d", l.Active())
	}
	r4, err := l.Acquire(h3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(h1); !errors.Is(err, ErrHandshakeLimit) {
		t.Fatal("double release freed an extra slot")
	}
	r2()
	r3()
	r4()
	if l.Active() != 0 || len(l.bySource) != 0 {
		t.Fatalf("state not cleaned: active %d, sources %d", l.Active(), len(l.bySource))
	}
}

func TestHandshakeLimiterUnlimited(t *testing.T) {
	l := NewHandshakeLimiter(0, 0)
	src := netip.MustParseAddrPort("192.0.2.1:1")
	var releases []func()
	for i := 0; i < 100; i++ {
		r, err := l.Acquire(src)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	for _, r := range releases {
		r()
	}
	if l.Active() != 0 {
		t.Fatal("leak")
	}
}

func TestHandshakeLimiterConcurrent(t *testing.T) {
	l := NewHandshakeLimiter(5, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				r, err := l.Acquire(netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 1))
				if err != nil {
					continue
				}
				mu.Lock()
				peak = max(peak, l.Active())
				mu.Unlock()
				r()
			}
		}()
	}
	wg.Wait()
	if peak > 5 || l.Active() != 0 {
		t.Fatalf("peak %d over cap 5, or %d left", peak, l.Active())
	}
}
