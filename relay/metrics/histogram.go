package metrics

import (
	"math"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// histData is a classic histogram in the shape prometheus.NewConstHistogram
// takes: cumulative counts keyed by upper bound, +Inf implied by count.
type histData struct {
	count   uint64
	sum     float64 // seconds
	buckets map[float64]uint64
}

// fromPerBucket builds a histogram from per-bucket counts, as relay's
// HandshakeSnapshot keeps them: per[i] counts observations in
// (bounds[i-1], bounds[i]], and entries from len(bounds) on are above the
// last bound (+Inf). Prometheus buckets are cumulative, so each bound gets
// the running sum.
func fromPerBucket(bounds []float64, per []uint64, sum float64) histData {
	h := histData{sum: sum, buckets: make(map[float64]uint64, len(bounds))}
	for i, ub := range bounds {
		if i < len(per) {
			h.count += per[i]
		}
		h.buckets[ub] = h.count
	}
	for i := len(bounds); i < len(per); i++ {
		h.count += per[i]
	}
	return h
}

// fromCumulative takes ng's histogram, already cumulative. Its counters are
// read one by one while requests run, so the copy is made monotone and
// count is at least the last bucket: an exposition with a bucket above
// +Inf would be rejected by some consumers (Prometheus' histogram_quantile
// assumes monotone buckets).
func fromCumulative(in ng.Histogram) histData {
	n := min(len(in.Bounds), len(in.Cumulative))
	h := histData{sum: in.Sum, buckets: make(map[float64]uint64, n)}
	var run uint64
	for i := range n {
		run = max(run, in.Cumulative[i])
		h.buckets[in.Bounds[i]] = run
	}
	h.count = max(in.Count, run)
	if math.IsNaN(h.sum) || h.sum < 0 {
		h.sum = 0
	}
	return h
}

// add folds o into h: several made-up ng command names collapse into one
// "unknown" histogram. ng uses one set of bounds for every command, so the
// bounds match; a bound only one side has keeps that side's count.
func (h *histData) add(o histData) {
	if h.buckets == nil {
		h.buckets = make(map[float64]uint64, len(o.buckets))
	}
	h.count += o.count
	h.sum += o.sum
	for ub, n := range o.buckets {
		h.buckets[ub] += n
	}
}
