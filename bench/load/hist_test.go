package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistIndexBounds(t *testing.T) {
	// Every value must land in a bucket whose range contains it, and
	// buckets must be contiguous and increasing.
	prevHigh := int64(0)
	for i := range histBuckets {
		low, w := histBounds(i)
		if low != prevHigh {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, low, prevHigh)
		}
		prevHigh = low + w
	}
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 999_999, 1 << 30, histMaxNS} {
		i := histIndex(v)
		low, w := histBounds(i)
		if v < low || v >= low+w {
			t.Fatalf("value %d in bucket %d [%d,%d)", v, i, low, low+w)
		}
		if v >= histExact && float64(w)/float64(low) > 1.0/histSub+1e-12 {
			t.Fatalf("bucket %d relative width %.4f above 1/%d", i, float64(w)/float64(low), histSub)
		}
	}
	if histIndex(-5) != 0 || histIndex(math.MaxInt64) != histBuckets-1 {
		t.Fatal("out-of-range values not clamped")
	}
}

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []int64, q float64) int64 {
	r := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(r, 1), len(sorted))-1]
}

func TestHistQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		gen  func() int64
		n    int
	}{
		{"uniform 0-200µs", func() int64 { return rng.Int64N(200_000) }, 50_000},
		{"lognormal around 80µs", func() int64 { return int64(math.Exp(rng.NormFloat64()*0.8) * 80_000) }, 50_000},
		{"tiny exact values", func() int64 { return rng.Int64N(100) }, 1000},
		{"bimodal with a 20ms tail", func() int64 {
			if rng.IntN(1000) == 0 {
				return 20_000_000 + rng.Int64N(1_000_000)
			}
			return 50_000 + rng.Int64N(10_000)
		}, 100_000},
		{"single sample", func() int64 { return 12345 }, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h Hist
			vals := make([]int64, c.n)
			for i := range vals {
				vals[i] = c.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			s := h.Snapshot()
			if s.N != uint64(c.n) || s.Max != vals[len(vals)-1] {
				t.Fatalf("n=%d max=%d, want %d and %d", s.N, s.Max, c.n, vals[len(vals)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				got, want := int64(s.Quantile(q)), exactQuantile(vals, q)
				// Half a bucket either way: at most 1/128 of the value, or
				// exact below 128 ns.
				tol := max(float64(want)/(2*histSub), 0.5)
				if math.Abs(float64(got-want)) > tol {
					t.Errorf("q%.3f = %d, exact %d (tolerance %.1f)", q, got, want, tol)
				}
			}
		})
	}
}

func TestHistEmptyMergeReset(t *testing.T) {
	var a, b Hist
	if q := a.Snapshot().Quantile(0.99); q != 0 {
		t.Fatalf("empty p99 = %v", q)
	}
	for range 99 {
		a.Record(int64(100 * time.Microsecond))
	}
	b.Record(int64(10 * time.Millisecond))
	s := a.Snapshot()
	s.Merge(b.Snapshot())
	if s.N != 100 || s.Max != int64(10*time.Millisecond) {
		t.Fatalf("merged n=%d max=%d", s.N, s.Max)
	}
	if p := s.Quantile(0.99); p < 99*time.Microsecond || p > 101*time.Microsecond {
		t.Fatalf("p99 of 99×100µs + 1×10ms = %v, want ~100µs", p)
	}
	if p := s.Quantile(0.999); p != 10*time.Millisecond {
		t.Fatalf("p99.9 = %v, want the 10ms outlier", p)
	}
	a.Record(-3) // clamped, not a panic
	a.Reset()
	if s := a.Snapshot(); s.N != 0 || s.Max != 0 {
		t.Fatalf("after reset n=%d max=%d", s.N, s.Max)
	}
}

func TestNearestRank(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0.11, 2}, {1, 10}} {
		if got := nearestRank(d, c.q); got != c.want {
			t.Errorf("nearestRank(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if nearestRank(nil, 0.5) != 0 {
		t.Error("empty")
	}
}

func BenchmarkHistRecord(b *testing.B) {
	var h Hist
	b.ReportAllocs()
	for i := range b.N {
		h.Record(int64(i & 0xFFFFF))
	}
}
