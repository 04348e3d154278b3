package metrics

import (
	"maps"
	"testing"

	"github.com/srtpgw/srtpgw/relay/ng"
)

func TestFromPerBucket(t *testing.T) {
	bounds := []float64{0.1, 1, 10}
	cases := []struct {
		name      string
		per       []uint64
		wantCount uint64
		want      map[float64]uint64
	}{
		{"empty", nil, 0, map[float64]uint64{0.1: 0, 1: 0, 10: 0}},
		{"per bucket becomes cumulative", []uint64{1, 2, 3, 4}, 10, map[float64]uint64{0.1: 1, 1: 3, 10: 6}},
		{"+Inf only in count", []uint64{0, 0, 0, 5}, 5, map[float64]uint64{0.1: 0, 1: 0, 10: 0}},
		{"short slice: missing buckets are 0", []uint64{2}, 2, map[float64]uint64{0.1: 2, 1: 2, 10: 2}},
		{"long slice: extras are above the last bound", []uint64{1, 1, 1, 1, 1}, 5, map[float64]uint64{0.1: 1, 1: 2, 10: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fromPerBucket(bounds, tc.per, 1.5)
			if h.count != tc.wantCount || h.sum != 1.5 || !maps.Equal(h.buckets, tc.want) {
				t.Errorf("got count %d sum %v buckets %v; want count %d buckets %v", h.count, h.sum, h.buckets, tc.wantCount, tc.want)
			}
		})
	}
}

func TestFromCumulative(t *testing.T) {
	cases := []struct {
		name      string
		in        ng.Histogram
		wantCount uint64
		wantSum   float64
		want      map[float64]uint64
	}{
		{"as is", ng.Histogram{Bounds: []float64{1, 2}, Cumulative: []uint64{3, 5}, Count: 6, Sum: 2},
			6, 2, map[float64]uint64{1: 3, 2: 5}},
		{"torn read: made monotone", ng.Histogram{Bounds: []float64{1, 2, 3}, Cumulative: []uint64{4, 3, 5}, Count: 5, Sum: 1},
			5, 1, map[float64]uint64{1: 4, 2: 4, 3: 5}},
		{"count below last bucket is raised", ng.Histogram{Bounds: []float64{1}, Cumulative: []uint64{7}, Count: 6},
			7, 0, map[float64]uint64{1: 7}},
		{"length mismatch uses the common prefix", ng.Histogram{Bounds: []float64{1, 2, 3}, Cumulative: []uint64{1}, Count: 1},
			1, 0, map[float64]uint64{1: 1}},
		{"negative sum is clamped", ng.Histogram{Bounds: []float64{1}, Cumulative: []uint64{1}, Count: 1, Sum: -3},
			1, 0, map[float64]uint64{1: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fromCumulative(tc.in)
			if h.count != tc.wantCount || h.sum != tc.wantSum || !maps.Equal(h.buckets, tc.want) {
				t.Errorf("got count %d sum %v buckets %v; want count %d sum %v buckets %v",
					h.count, h.sum, h.buckets, tc.wantCount, tc.wantSum, tc.want)
			}
		})
	}
}

func TestHistAdd(t *testing.T) {
	var h histData
	h.add(histData{count: 2, sum: 1, buckets: map[float64]uint64{1: 1, 2: 2}})
	h.add(histData{count: 3, sum: 0.5, buckets: map[float64]uint64{1: 3, 2: 3}})
	want := map[float64]uint64{1: 4, 2: 5}
	if h.count != 5 || h.sum != 1.5 || !maps.Equal(h.buckets, want) {
		t.Errorf("got %+v", h)
	}
}

func TestEnumSlot(t *testing.T) {
	withUnknown := newEnum("a", "unknown")
	plain := newEnum("a", "b")
	cases := []struct {
		e     enum
		in    string
		slot  int
		label string
	}{
		{plain, "a", 0, "a"},
		{plain, "b", 1, "b"},
		{plain, "+15551234567", 2, unknown},
		{plain, "", 2, unknown},
		{withUnknown, "zz@host", 1, "unknown"},
		{withUnknown, "a", 0, "a"},
	}
	for _, tc := range cases {
		if s := tc.e.slot(tc.in); s != tc.slot || tc.e.label(s) != tc.label {
			t.Errorf("slot(%q) = %d (%q), want %d (%q)", tc.in, s, tc.e.label(s), tc.slot, tc.label)
		}
	}
	got := tally(plain, map[string]uint64{"a": 1, "x": 2, "y": 3}, identity)
	if want := []uint64{1, 0, 5}; !slicesEqual(got, want) {
		t.Errorf("tally = %v, want %v", got, want)
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
