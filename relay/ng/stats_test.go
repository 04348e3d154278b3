package ng

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestDurationHistogram(t *testing.T) {
	c := newCounters()
	slot := cmdSlot("offer")
	for _, d := range []time.Duration{
		200 * time.Microsecond, // first bucket
		500 * time.Microsecond, // on a bound: counted in that bucket
		3 * time.Millisecond,
		2 * time.Second,
		time.Minute,  // beyond the last bound: +Inf only
		-time.Second, // a clock step: counted as 0
	} {
		c.request(slot, ResultOK, d)
	}
	h := c.snapshot().Durations["offer"]
	if h.Count != 6 {
		t.Fatalf("Count = %d, want 6", h.Count)
	}
	want := []uint64{3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5}
	if !reflect.DeepEqual(h.Cumulative, want) {
		t.Errorf("Cumulative = %v, want %v", h.Cumulative, want)
	}
	if wantSum := (200*time.Microsecond + 500*time.Microsecond + 3*time.Millisecond + 2*time.Second + time.Minute).Seconds(); math.Abs(h.Sum-wantSum) > 1e-9 {
		t.Errorf("Sum = %v, want %v", h.Sum, wantSum)
	}
	if !reflect.DeepEqual(h.Bounds, DurationBuckets) {
		t.Error("Bounds are not DurationBuckets")
	}
}

func TestCommandSlots(t *testing.T) {
	seen := map[int]bool{}
	for _, name := range Commands() {
		slot := cmdSlot(name)
		if seen[slot] {
			t.Errorf("%q shares slot %d", name, slot)
		}
		seen[slot] = true
		if got := cmdName(slot); got != name {
			t.Errorf("cmdName(cmdSlot(%q)) = %q", name, got)
		}
	}
	if cmdSlot("Start-Recording") != cmdSlot("start recording") {
		t.Error("folded command names map to different slots")
	}
}

func TestRefusedCount(t *testing.T) {
	c := newCounters()
	c.request(cmdSlot("start recording"), ResultRefused, 0)
	c.request(cmdSlot("offer"), ResultRefused, 0)
	c.request(cmdSlot("offer"), ResultError, 0)
	st := c.snapshot()
	if st.Refused != 2 {
		t.Fatalf("Refused = %d, want 2", st.Refused)
	}
	if st.Requests[RequestKey{"offer", ResultError}] != 1 || len(st.Requests) != 3 {
		t.Fatalf("Requests = %v", st.Requests)
	}
}
