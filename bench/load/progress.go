package load

import (
	"context"
	"fmt"
	"time"
)

// progressFor waits d, printing one progress line per second: delivered
// packet rates, the current window's loss and p99 so far, and the CPU of
// the relay and of the load tool over that second.
func (r *runner) progressFor(ctx context.Context, d time.Duration, phase string, calls int) error {
	end := time.Now().Add(d)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	_, prevRecv := r.st.Totals()
	prevT := time.Now()
	prevRelay, _ := ProcCPU(r.cfg.PID)
	prevSelf, _ := ProcCPU(0)
	for {
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		wait := time.NewTimer(left)
		select {
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		case <-wait.C:
			return nil
		case now := <-tick.C:
			wait.Stop()
			if r.cfg.Progress == nil {
				continue
			}
			_, recv := r.st.Totals()
			relay, _ := ProcCPU(r.cfg.PID)
			self, _ := ProcCPU(0)
			dt := now.Sub(prevT).Seconds()
			e := r.st.Epoch()
			up, down := r.st.Window(e, DirUp), r.st.Window(e, DirDown)
			relayPct := "-"
			if r.cfg.PID > 0 {
				relayPct = fmt.Sprintf("%.0f%%", 100*(relay-prevRelay).Seconds()/dt)
			}
			fmt.Fprintf(r.cfg.Progress, "[%s] %-8s calls %4d | pps up %6.0f down %6.0f | loss%% up %.3f down %.3f | p99 up %s down %s | CPU relay %s load %.0f%%\n",
				r.cfg.Label, phase, calls,
				float64(recv[DirUp]-prevRecv[DirUp])/dt, float64(recv[DirDown]-prevRecv[DirDown])/dt,
				100*inflightLoss(up), 100*inflightLoss(down),
				fmtDur(up.Lat.Quantile(0.99)), fmtDur(down.Lat.Quantile(0.99)),
				relayPct, 100*(self-prevSelf).Seconds()/dt)
			prevRecv, prevT, prevRelay, prevSelf = recv, now, relay, self
		}
	}
}

// inflightLoss is the loss so far in a window still running: packets in
// flight count as lost until they land, so it reads slightly high, which
// is fine for a progress line (the final figure waits for the drain).
func inflightLoss(d DirWindow) float64 { return d.LossRatio() }

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	default:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
}
