package load

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Labels bench/floor.sh gives its three relays.
const (
	LabelForwarder      = "forwarder-poller"
	LabelKeyedForwarder = "forwarder-srtp"
	LabelSrtpgw         = "srtpgw"
)

// WriteFloor renders bench/floor.sh's interleaved rounds as a Markdown
// table: per call count and round, the CPU per relayed packet of the bare
// forwarder, the keyed forwarder and srtpgw, and the three ratios between
// them, then the medians. Results of one label are taken as rounds in the
// order they started; round i of each label is compared with round i of
// the others (they ran minutes apart, on the same box). A step with loss
// is marked: its CPU figure describes a relay that was not keeping up.
func WriteFloor(w io.Writer, results []*Result) error {
	byLabel := map[string][]*Result{}
	for _, r := range results {
		byLabel[r.Label] = append(byLabel[r.Label], r)
	}
	for _, l := range []string{LabelForwarder, LabelKeyedForwarder, LabelSrtpgw} {
		if len(byLabel[l]) == 0 {
			return fmt.Errorf("no %s result", l)
		}
		sort.SliceStable(byLabel[l], func(i, j int) bool { return byLabel[l][i].Started.Before(byLabel[l][j].Started) })
	}
	rounds := min(len(byLabel[LabelForwarder]), len(byLabel[LabelKeyedForwarder]), len(byLabel[LabelSrtpgw]))
	fmt.Fprintf(w, "| calls | round | %s µs/pkt | %s µs/pkt | %s µs/pkt | %s / %s | %s / %s | %s / %s |\n",
		LabelForwarder, LabelKeyedForwarder, LabelSrtpgw,
		LabelKeyedForwarder, LabelForwarder, LabelSrtpgw, LabelForwarder, LabelSrtpgw, LabelKeyedForwarder)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, rs := range byLabel[LabelForwarder][0].Steps {
		if rs.Ramp || rs.Noisy {
			continue
		}
		var cols [6][]float64 // fwd, keyed, srtpgw, keyed/fwd, srtpgw/fwd, srtpgw/keyed
		for i := range rounds {
			var us [3]float64
			var lossy []string
			for j, l := range []string{LabelForwarder, LabelKeyedForwarder, LabelSrtpgw} {
				s, ok := stepAt(byLabel[l][i], rs.Calls)
				if ok && s.RelayCPU != nil {
					us[j] = s.RelayCPU.USPerPacket
				}
				if ok && s.Up.Lost+s.Down.Lost > 0 {
					lossy = append(lossy, l)
				}
			}
			if us[0] <= 0 || us[1] <= 0 || us[2] <= 0 {
				continue
			}
			row := [6]float64{us[0], us[1], us[2], us[1] / us[0], us[2] / us[0], us[2] / us[1]}
			for k, v := range row {
				cols[k] = append(cols[k], v)
			}
			mark := ""
			if len(lossy) > 0 {
				mark = " (loss: " + strings.Join(lossy, ", ") + ")"
			}
			fmt.Fprintf(w, "| %d | %d%s | %.2f | %.2f | %.2f | %.2f× | %.2f× | %.2f× |\n",
				rs.Calls, i+1, mark, row[0], row[1], row[2], row[3], row[4], row[5])
		}
		if len(cols[0]) > 0 {
			fmt.Fprintf(w, "| %d | **median** | %.2f | %.2f | %.2f | **%.2f×** | **%.2f×** | **%.2f×** |\n",
				rs.Calls, median(cols[0]), median(cols[1]), median(cols[2]), median(cols[3]), median(cols[4]), median(cols[5]))
		}
	}
	return nil
}

// median of a non-empty list (the mean of the middle two for an even count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
