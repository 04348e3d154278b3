package load

import (
	"testing"
	"time"
)

// fakeClock advances only when the pacer sleeps, plus any stall a test
// injects, so pacing is checked exactly and never flakes on a busy box.
type fakeClock struct {
	now   time.Duration
	stall map[time.Duration]time.Duration // at (or after) t, lose d once
}

func (c *fakeClock) Now() time.Duration { return c.now }

func (c *fakeClock) SleepUntil(t time.Duration) {
	if t > c.now {
		c.now = t
	}
	for at, d := range c.stall {
		if c.now >= at {
			c.now += d
			delete(c.stall, at)
		}
	}
}

// recSender records the clock time of each of its sends.
type recSender struct {
	clock *fakeClock
	at    []time.Duration
}

func (s *recSender) Send() { s.at = append(s.at, s.clock.now) }

func TestWheelPacing(t *testing.T) {
	cases := []struct {
		name    string
		flows   int
		slots   int
		run     time.Duration
		stall   map[time.Duration]time.Duration
		wantLag time.Duration
	}{
		{"one flow", 1, 20, time.Second, nil, 0},
		{"many flows spread", 100, 20, 2 * time.Second, nil, 0},
		{"more slots than flows", 3, 20, time.Second, nil, 0},
		{"one slot", 7, 1, time.Second, nil, 0},
		{"60ms stall is caught up", 40, 20, time.Second, map[time.Duration]time.Duration{300 * time.Millisecond: 60 * time.Millisecond}, 60 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &fakeClock{stall: c.stall}
			w := NewWheel(clk, Period, c.slots)
			senders := make([]*recSender, c.flows)
			for i := range senders {
				senders[i] = &recSender{clock: clk}
				w.Add(senders[i])
			}
			w.Run(0, c.run, nil)
			want := int(c.run / Period)
			perSlot := make(map[time.Duration]int)
			for i, s := range senders {
				if len(s.at) != want {
					t.Fatalf("flow %d sent %d packets in %v, want exactly %d", i, len(s.at), c.run, want)
				}
				perSlot[s.at[0]]++
				if c.stall != nil {
					continue
				}
				// Without stalls every gap is exactly the period.
				for k := 1; k < len(s.at); k++ {
					if gap := s.at[k] - s.at[k-1]; gap != Period {
						t.Fatalf("flow %d gap %d = %v, want %v", i, k, gap, Period)
					}
				}
			}
			// Flows are spread over the slots: no slot holds more than its share.
			limit := (c.flows + c.slots - 1) / c.slots
			for at, n := range perSlot {
				if n > limit {
					t.Fatalf("%d flows first sent at %v, want at most %d per slot", n, at, limit)
				}
			}
			if got := w.MaxLag(); got != c.wantLag {
				t.Fatalf("max lag %v, want %v", got, c.wantLag)
			}
		})
	}
}

func TestWheelAddLaterAndStop(t *testing.T) {
	clk := &fakeClock{}
	w := NewWheel(clk, Period, 4)
	first := &recSender{clock: clk}
	w.Add(first)
	w.Run(0, 100*time.Millisecond, nil)
	// The ramp adds flows between steps while the wheel keeps its
	// schedule; a new flow joins at its slot's next tick.
	late := &recSender{clock: clk}
	w.Add(late)
	w.Run(100*time.Millisecond, 200*time.Millisecond, nil)
	if len(first.at) != 10 {
		t.Fatalf("first flow sent %d, want 10", len(first.at))
	}
	if len(late.at) != 5 || late.at[0] < 100*time.Millisecond {
		t.Fatalf("late flow sends at %v: want 5, from 100ms on", late.at)
	}
	if w.Len() != 2 {
		t.Fatalf("Len = %d", w.Len())
	}

	stop := make(chan struct{})
	close(stop)
	before := len(first.at)
	w.Run(clk.now, clk.now+time.Second, stop)
	if len(first.at) != before {
		t.Fatal("sent after stop was closed")
	}
}

type senderFunc func()

func (f senderFunc) Send() { f() }

// TestWheelRealClock is a short real run with generous bounds: it catches
// a broken real clock or sleep, not the pacing precision (the fake clock
// tests do that).
func TestWheelRealClock(t *testing.T) {
	clk := monoClock{}
	w := NewWheel(clk, Period, 20)
	var n [5]int
	for i := range n {
		w.Add(senderFunc(func() { n[i]++ }))
	}
	start := clk.Now()
	w.Run(start, start+200*time.Millisecond, nil)
	for i, c := range n {
		if c != 10 {
			t.Fatalf("flow %d sent %d in 200ms, want exactly 10 (catch-up keeps the count exact)", i, c)
		}
	}
	if elapsed := clk.Now() - start; elapsed < 150*time.Millisecond {
		t.Fatalf("200ms of pacing took %v: the wheel did not wait", elapsed)
	}
}
