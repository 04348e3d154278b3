package load

import (
	"strings"
	"testing"
	"time"
)

func floorResult(label string, at int, us200, us400 float64, lost uint64) *Result {
	step := func(calls int, us float64) Step {
		return Step{Calls: calls, RelayCPU: &CPU{USPerPacket: us}, Up: DirStats{Lost: lost}}
	}
	return &Result{Label: label, Started: time.Unix(int64(at), 0),
		Steps: []Step{step(200, us200), step(400, us400)}}
}

// Rounds pair by start time, not by the order of the files, the ratios
// and medians are computed per call count, and a lossy step is marked.
func TestWriteFloor(t *testing.T) {
	res := []*Result{
		floorResult(LabelSrtpgw, 30, 13, 12, 0),
		floorResult(LabelForwarder, 10, 10, 8, 0),
		floorResult(LabelKeyedForwarder, 11, 12, 10, 0),
		floorResult(LabelSrtpgw, 12, 13, 11, 0),
		floorResult(LabelForwarder, 20, 10, 10, 0),
		floorResult(LabelKeyedForwarder, 21, 12, 11, 5),
		floorResult(LabelForwarder, 28, 5, 5, 0),
		floorResult(LabelKeyedForwarder, 29, 6, 6, 0),
	}
	var b strings.Builder
	if err := WriteFloor(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| 200 | 1 | 10.00 | 12.00 | 13.00 | 1.20× | 1.30× | 1.08× |",
		// srtpgw's second round is the one that started at 30.
		"| 200 | 2 (loss: forwarder-srtp) | 10.00 | 12.00 | 13.00 | 1.20× | 1.30× | 1.08× |",
		"| 400 | 1 | 8.00 | 10.00 | 11.00 | 1.25× | 1.38× | 1.10× |",
		"| 400 | 2 (loss: forwarder-srtp) | 10.00 | 11.00 | 12.00 | 1.10× | 1.20× | 1.09× |",
		"| 400 | **median** | 9.00 | 10.50 | 11.50 | **1.18×** | **1.29×** | **1.10×** |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "| 3 |") {
		t.Errorf("a third round without srtpgw was reported:\n%s", out)
	}
	if err := WriteFloor(&b, res[1:3]); err == nil {
		t.Error("results without srtpgw were accepted")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
