package load

import (
	"sync"
	"time"
)

// Clock is the pacer's view of time, so tests can drive it.
type Clock interface {
	Now() time.Duration // monotonic, from an arbitrary origin
	SleepUntil(t time.Duration)
}

// Sender is one paced media stream: Send emits its next packet.
type Sender interface {
	Send()
}

// Wheel paces many streams from one goroutine. The 20 ms packet period is
// cut into Slots ticks; each stream is put in one slot (spread evenly, so
// the load is smooth instead of one burst every 20 ms) and is sent once
// each time the wheel passes its slot. Deadlines are absolute
// (start + k*tick), so a late tick is caught up at once and never shifts
// the later ones: over any run each stream sends exactly run/period
// packets, which is what makes the offered load exact.
type Wheel struct {
	clock  Clock
	period time.Duration
	tick   time.Duration

	mu    sync.Mutex // guards slots; held for one tick's sends
	slots [][]Sender
	n     int

	maxLag time.Duration
	ticks  int
}

// NewWheel makes a pacer with the given period cut into slots ticks.
func NewWheel(clock Clock, period time.Duration, slots int) *Wheel {
	slots = max(slots, 1)
	return &Wheel{clock: clock, period: period, tick: period / time.Duration(slots), slots: make([][]Sender, slots)}
}

// Add puts s in the least loaded slot (round robin, as streams arrive in
// order). Safe while Run is going: s starts at its slot's next tick.
func (w *Wheel) Add(s Sender) {
	w.mu.Lock()
	w.slots[w.n%len(w.slots)] = append(w.slots[w.n%len(w.slots)], s)
	w.n++
	w.mu.Unlock()
}

// Len is the number of streams.
func (w *Wheel) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Run paces from start until end (clock time) or until stop is closed.
func (w *Wheel) Run(start, end time.Duration, stop <-chan struct{}) {
	for k := 0; ; k++ {
		due := start + time.Duration(k)*w.tick
		if due >= end {
			return
		}
		select {
		case <-stop:
			return
		default:
		}
		now := w.clock.Now()
		if now < due {
			w.clock.SleepUntil(due)
			now = w.clock.Now()
		}
		w.mu.Lock()
		w.maxLag = max(w.maxLag, now-due)
		w.ticks++
		for _, s := range w.slots[k%len(w.slots)] {
			s.Send()
		}
		w.mu.Unlock()
	}
}

// MaxLag is the worst lateness of a tick so far: how far the pacer fell
// behind its schedule (a sign the load tool, not the relay, is saturated).
func (w *Wheel) MaxLag() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxLag
}

// ResetLag starts a new MaxLag measurement.
func (w *Wheel) ResetLag() {
	w.mu.Lock()
	w.maxLag = 0
	w.mu.Unlock()
}

// monoClock is the real monotonic clock, shared with packet timestamps.
type monoClock struct{}

var monoBase = time.Now()

// mono is nanoseconds on the process's monotonic clock; senders write it
// into the payload and receivers subtract it, so one-way latency needs no
// clock sync (sender and receiver are the same process).
func mono() int64 { return int64(time.Since(monoBase)) }

func (monoClock) Now() time.Duration { return time.Duration(mono()) }

func (monoClock) SleepUntil(t time.Duration) {
	if d := t - time.Duration(mono()); d > 0 {
		time.Sleep(d)
	}
}
