package load

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear (the HdrHistogram idea): values
// below 128 ns get a bucket each; above, every power of two is split into
// 64 equal buckets, so any recorded value is known to within 1/64 (1.6 %)
// of itself. Buckets are atomics, so the many receiver goroutines record
// into one shared histogram without a lock and without allocating.
const (
	histExact   = 128
	histSubBits = 6
	histSub     = 1 << histSubBits // 64
	histOctaves = 34               // up to 2^40 ns, about 18 minutes
	histBuckets = histExact + histOctaves*histSub
	histMaxNS   = int64(1)<<(histOctaves+histSubBits+1) - 1
)

// Hist is a concurrent latency histogram in nanoseconds.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

func histIndex(v int64) int {
	if v < histExact {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	if v > histMaxNS {
		v = histMaxNS
	}
	e := bits.Len64(uint64(v)) - (histSubBits + 1) // v>>e is in [64,128)
	return histExact + (e-1)*histSub + int(v>>e) - histSub
}

// histBounds is the [low, low+width) range of bucket i.
func histBounds(i int) (low, width int64) {
	if i < histExact {
		return int64(i), 1
	}
	e := (i-histExact)/histSub + 1
	m := int64((i-histExact)%histSub + histSub)
	return m << e, int64(1) << e
}

// Record adds one latency sample.
func (h *Hist) Record(ns int64) {
	if ns < 0 {
		ns = 0 // clocks are monotonic; a negative value is a bug, kept visible as 0
	}
	h.counts[histIndex(ns)].Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// Reset zeroes the histogram. Callers make sure no epoch records into it
// at the same time (the runner resets an epoch's slot before using it).
func (h *Hist) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.max.Store(0)
}

// Snapshot copies the counts for percentile maths.
func (h *Hist) Snapshot() *HistSnapshot {
	s := &HistSnapshot{Max: h.max.Load()}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.Counts[i] = c
		s.N += c
	}
	return s
}

// HistSnapshot is a frozen copy of a Hist.
type HistSnapshot struct {
	Counts [histBuckets]uint64
	N      uint64
	Max    int64
}

// Merge adds o into s.
func (s *HistSnapshot) Merge(o *HistSnapshot) {
	for i := range s.Counts {
		s.Counts[i] += o.Counts[i]
	}
	s.N += o.N
	s.Max = max(s.Max, o.Max)
}

// Quantile is the nearest-rank q-quantile (0 < q <= 1): the value v such
// that at least q of the samples are <= v, reported as the middle of its
// bucket and never above the exact maximum. An empty histogram gives 0.
func (s *HistSnapshot) Quantile(q float64) time.Duration {
	if s.N == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.N)))
	rank = min(max(rank, 1), s.N)
	var cum uint64
	for i, c := range s.Counts {
		cum += c
		if cum >= rank {
			low, w := histBounds(i)
			return time.Duration(min(low+w/2, s.Max))
		}
	}
	return time.Duration(s.Max)
}
