package load

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// tableHeader names the columns of both the terminal and Markdown tables.
var tableHeader = []string{
	"relay", "calls", "setup/s", "setup p50/p99 ms",
	"pps up/down", "loss% up/down",
	"lat up p50/p99/p99.9/max µs", "lat down p50/p99/p99.9/max µs",
	"relay CPU%", "relay µs/pkt", "relay RSS MB", "KB/call",
	"load CPU%", "other CPU%", "pass",
}

// header is tableHeader, with the ICE column before "pass" when any
// result ran with -ice.
func header(results []*Result) []string {
	if !anyICE(results) {
		return tableHeader
	}
	h := append([]string(nil), tableHeader[:len(tableHeader)-1]...)
	return append(h, "ICE checks sent/answered", tableHeader[len(tableHeader)-1])
}

func anyICE(results []*Result) bool {
	for _, r := range results {
		if r.ICE {
			return true
		}
	}
	return false
}

func rows(results []*Result) [][]string {
	var out [][]string
	ice := anyICE(results)
	for _, r := range results {
		for _, s := range r.Steps {
			calls := fmt.Sprint(s.Calls)
			if s.Ramp {
				calls += " (ramp)"
			}
			if s.Noisy {
				calls += " (noisy, re-measured below)"
			}
			cpu, usp, rss, kb := "-", "-", "-", "-"
			if s.RelayCPU != nil {
				cpu = fmt.Sprintf("%.1f", s.RelayCPU.Percent)
				usp = fmt.Sprintf("%.2f", s.RelayCPU.USPerPacket)
			}
			if s.RelayRSSKB > 0 {
				rss = fmt.Sprintf("%.1f", float64(s.RelayRSSKB)/1024)
				kb = fmt.Sprintf("%.1f", s.MemPerCallKB)
			}
			pass := "yes"
			if !s.Pass {
				pass = "NO: " + s.Fail
			}
			row := []string{
				r.Label, calls,
				fmt.Sprintf("%.0f", s.Setup.RatePerSec),
				fmt.Sprintf("%.1f/%.1f", s.Setup.P50MS, s.Setup.P99MS),
				fmt.Sprintf("%.0f/%.0f", s.Up.PPS, s.Down.PPS),
				fmt.Sprintf("%.3f/%.3f", s.Up.LossPct, s.Down.LossPct),
				lat(s.Up), lat(s.Down),
				cpu, usp, rss, kb,
				fmt.Sprintf("%.1f", s.LoadCPU.Percent),
				fmt.Sprintf("%.0f", s.OtherCPUPct+s.StealPct),
			}
			if ice {
				checks := "-"
				if s.ICE != nil {
					checks = fmt.Sprintf("%d/%d", s.ICE.Sent, s.ICE.Answered)
				}
				row = append(row, checks)
			}
			out = append(out, append(row, pass))
		}
	}
	return out
}

func lat(d DirStats) string {
	return fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", d.P50US, d.P99US, d.P999US, d.MaxUS)
}

// WriteTable prints the human table for a terminal, one row per step,
// followed by the ramp verdicts and anything that went wrong.
func WriteTable(w io.Writer, results []*Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header(results), "\t"))
	for _, row := range rows(results) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	notes(w, results, "")
}

// WriteMarkdown prints the same table in GitHub Markdown.
func WriteMarkdown(w io.Writer, results []*Result) {
	h := header(results)
	fmt.Fprintf(w, "| %s |\n", strings.Join(h, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(h)))
	for _, row := range rows(results) {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
	notes(w, results, "- ")
}

func notes(w io.Writer, results []*Result, bullet string) {
	for _, r := range results {
		if r.Ramp != nil {
			fmt.Fprintf(w, "%s%s ramp (loss < %.2f%%, p99 < %.1f ms): max %d calls; stopped: %s (%.0f s)\n",
				bullet, r.Label, r.Ramp.MaxLossPct, r.Ramp.MaxP99MS, r.Ramp.MaxCalls, r.Ramp.StopReason, r.Ramp.ElapsedSec)
		}
		c := r.Counters
		fmt.Fprintf(w, "%s%s: mode %s %s; teardown %d deleted, %d failed; load tool CPU %.1f s in all; "+
			"invalid %d, early SRTP %d, auth fail %d, reordered %d, RTCP %d, ng retransmits %d\n",
			bullet, r.Label, r.Mode, r.Profile, r.Teardown.Deleted, r.Teardown.Failed, r.LoadCPUSec,
			c.Invalid, c.EarlySRTP, c.AuthFail, c.Reordered, c.RTCP, c.NGRetransmitted)
		if ice := c.ICE; ice != nil {
			fmt.Fprintf(w, "%s%s ICE: %d checks sent (setup and consent), %d answered; %d retransmits, %d error responses, "+
				"%d duplicate answers, %d invalid STUN, %d checks from the relay (unanswered), %d send errors\n",
				bullet, r.Label, ice.Sent, ice.Answered, ice.Retransmits, ice.ErrorResponses,
				ice.Duplicates, ice.Invalid, ice.RelayChecks, ice.SendErrors)
		}
		for _, s := range r.Steps {
			if s.Setup.Failed > 0 {
				fmt.Fprintf(w, "%s%s at %d calls: %d setups failed, first: %s\n", bullet, r.Label, s.Calls, s.Setup.Failed, s.Setup.FirstError)
			}
			if s.PacerMaxLagMS > 20 {
				fmt.Fprintf(w, "%s%s at %d calls: the load tool's pacer fell %.1f ms behind (load tool short of CPU)\n",
					bullet, r.Label, s.Calls, s.PacerMaxLagMS)
			}
		}
		var busy []string
		for _, s := range r.Steps {
			if s.OtherCPUPct+s.StealPct >= noisyPct {
				busy = append(busy, fmt.Sprintf("%d (%.0f%%)", s.Calls, s.OtherCPUPct+s.StealPct))
			}
		}
		if len(busy) > 0 {
			fmt.Fprintf(w, "%s%s: other processes used CPU during the steps at %s calls; their latency and pass/fail are upper bounds\n",
				bullet, r.Label, strings.Join(busy, ", "))
		}
		if r.Teardown.FirstError != "" {
			fmt.Fprintf(w, "%s%s teardown: %s\n", bullet, r.Label, r.Teardown.FirstError)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "%s%s error: %s\n", bullet, r.Label, r.Error)
		}
	}
}

// Clean is true when every step delivered every packet, every call was set
// up and deleted, and nothing failed authentication: what -assert-no-loss
// demands.
func (r *Result) Clean() (bool, string) {
	if r.Error != "" {
		return false, r.Error
	}
	for _, s := range r.Steps {
		switch {
		case s.Setup.Failed > 0:
			return false, fmt.Sprintf("%d calls: %d setups failed", s.Calls, s.Setup.Failed)
		case s.Up.Sent == 0 || s.Down.Sent == 0:
			return false, fmt.Sprintf("%d calls: no media sent", s.Calls)
		case s.Up.Lost > 0 || s.Down.Lost > 0:
			return false, fmt.Sprintf("%d calls: lost %d up, %d down", s.Calls, s.Up.Lost, s.Down.Lost)
		case s.Up.SendErrors+s.Down.SendErrors > 0:
			return false, fmt.Sprintf("%d calls: %d send errors", s.Calls, s.Up.SendErrors+s.Down.SendErrors)
		}
	}
	if r.Teardown.Failed > 0 {
		return false, fmt.Sprintf("%d deletes failed", r.Teardown.Failed)
	}
	if r.Counters.AuthFail > 0 {
		return false, fmt.Sprintf("%d SRTP packets failed authentication", r.Counters.AuthFail)
	}
	// Consent checks are what keeps srtpgw sending (RFC 7675): one lost
	// is as much a failure as a lost packet.
	if ice := r.Counters.ICE; ice != nil && ice.Answered < ice.Sent {
		return false, fmt.Sprintf("ICE: %d of %d checks answered", ice.Answered, ice.Sent)
	}
	return true, ""
}

// WriteComparison prints, for every fixed call count all results measured,
// each relay's CPU per relayed packet and p99, and each relay's cost
// relative to the first result (the reference, e.g. rtpengine).
func WriteComparison(w io.Writer, results []*Result) {
	if len(results) < 2 {
		return
	}
	ref := results[0]
	for _, rs := range ref.Steps {
		if rs.Ramp || rs.Noisy || rs.RelayCPU == nil {
			continue
		}
		var parts []string
		for _, r := range results {
			s, ok := stepAt(r, rs.Calls)
			if !ok || s.RelayCPU == nil {
				continue
			}
			p := fmt.Sprintf("%s %.2f µs/pkt, p99 %.0f/%.0f µs", r.Label, s.RelayCPU.USPerPacket, s.Up.P99US, s.Down.P99US)
			if r != ref && rs.RelayCPU.USPerPacket > 0 {
				p += fmt.Sprintf(" (%.2f× %s)", s.RelayCPU.USPerPacket/rs.RelayCPU.USPerPacket, ref.Label)
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(w, "- %d calls: %s\n", rs.Calls, strings.Join(parts, "; "))
	}
	for _, r := range results {
		if r.Ramp != nil {
			fmt.Fprintf(w, "- %s: highest passing load %d calls (%s)\n", r.Label, r.Ramp.MaxCalls, r.Ramp.StopReason)
		}
	}
}

func stepAt(r *Result, calls int) (Step, bool) {
	for _, s := range r.Steps {
		if s.Calls == calls && !s.Ramp && !s.Noisy {
			return s, true
		}
	}
	return Step{}, false
}
