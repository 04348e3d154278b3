package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/srtpgw/srtpgw/bench/load"
	"github.com/srtpgw/srtpgw/relay/audit"
)

// Check is one pass/fail assertion of the soak.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Result is everything a soak measured.
type Result struct {
	Config     Config         `json:"config"`
	Host       load.Host      `json:"host"`
	Version    string         `json:"srtpgw_version"`
	Command    string         `json:"command"`
	DaemonArgs []string       `json:"daemon_args"`
	Started    time.Time      `json:"started"`
	Wall       time.Duration  `json:"wall_ns"`
	Samples    []Sample       `json:"samples"`
	Baseline   Sample         `json:"baseline"`
	Final      Sample         `json:"final"`
	Totals     map[string]any `json:"totals"`
	CallEnds   map[string]int `json:"call_end_reasons"`
	Verify     string         `json:"audit_verify"`
	Checks     []Check        `json:"checks"`
	Pass       bool           `json:"pass"`
	// Notes is markdown added to the report (-notes), e.g. what a failed
	// check was traced to.
	Notes string `json:"notes,omitempty"`
}

func (res *Result) check(name string, ok bool, format string, args ...any) {
	res.Checks = append(res.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// Run starts the daemon, soaks it, lets it settle, and judges the run.
// progress (may be nil) gets one line per sample.
func Run(ctx context.Context, cfg Config, dcfg DaemonConfig, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	res := &Result{Config: cfg, Host: load.HostInfo(), Started: time.Now().UTC()}
	d, err := StartDaemon(dcfg)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			d.Kill()
		}
	}()
	res.DaemonArgs = d.Args
	r, err := newRunner(cfg, d.NG)
	if err != nil {
		return nil, err
	}
	defer r.ng.Close()
	smp := newSampler(d, r)
	record := func(phase string) (Sample, error) {
		s, err := smp.take(phase)
		if err != nil {
			return s, fmt.Errorf("sample (%s): %w\n%s", phase, err, d.Logs())
		}
		res.Samples = append(res.Samples, s)
		fmt.Fprintf(progress, "%7s %-8s calls %4.0f live %4d ended %6d goroutines %5.0f fds %5d rss %6.1f MB heap %6.1f/%6.1f MB cache %5.0f cpu %5.1f%% lost %d\n",
			fmtDur(s.At), phase, s.CallsActive, s.Live, s.CallsEnded, s.Goroutines, s.FDs,
			float64(s.RSS)/(1<<20), s.HeapInuse/(1<<20), s.HeapAlloc/(1<<20), s.CacheEntries, s.CPUPct, s.Lost)
		return s, nil
	}
	time.Sleep(2 * time.Second) // let start-up allocations settle
	if err := settleGC(smp, d, progress); err != nil {
		return nil, err
	}
	if res.Baseline, err = record("baseline"); err != nil {
		return nil, err
	}

	// Churn, sampled.
	churnCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	done := make(chan struct{})
	go func() { r.churn(churnCtx); close(done) }()
	tick := time.NewTicker(cfg.Sample)
	stuck := time.NewTimer(cfg.Duration + 2*time.Minute) // ending every call takes seconds
	defer stuck.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-stuck.C:
			cancel()
			return nil, fmt.Errorf("the churn did not stop 2 minutes after its end (%d calls live): a call's setup or teardown hangs", r.tot.Live.Load())
		case <-tick.C:
			if _, err := record("churn"); err != nil {
				cancel()
				<-done
				tick.Stop()
				return nil, err
			}
		}
	}
	tick.Stop()
	cancel()
	churnEnd := time.Now()
	if _, err := record("ended"); err != nil {
		return nil, err
	}

	// Settle: ports out of quarantine, optionally the reply cache out of
	// its two generations, then one GC so the heap holds only what lives.
	if err := waitFor(30*time.Second, func() bool {
		m, err := smp.s.scrape()
		return err == nil && m["srtpgw_ports_quarantined"] == 0 && m["srtpgw_calls_active"] == 0
	}); err != nil {
		return nil, fmt.Errorf("ports still quarantined or calls active 30 s after the churn ended")
	}
	if cfg.SettleCache {
		quiet := time.Unix(0, r.lastNG.Load()).Add(2*time.Minute + 5*time.Second)
		for time.Now().Before(quiet) {
			time.Sleep(min(cfg.Sample, time.Until(quiet)))
			if _, err := record("settle"); err != nil {
				return nil, err
			}
		}
		// The cache swaps generations lazily, on the next request.
		if _, err := r.ng.Do(ctx, map[string]any{"command": "ping"}); err != nil {
			return nil, err
		}
	}
	if err := settleGC(smp, d, progress); err != nil {
		return nil, err
	}
	if res.Final, err = record("final"); err != nil {
		return nil, err
	}
	settled := time.Since(churnEnd)

	// Stop the daemon and audit its log.
	stopped = true
	stopErr := d.Stop(20 * time.Second)
	res.Verify, err = d.VerifyLog()
	verifyOK := err == nil
	res.CallEnds, err = callEnds(d.AuditLog)
	if err != nil {
		return nil, err
	}
	res.Wall = time.Since(res.Started)
	res.judge(r, stopErr, verifyOK, settled)
	return res, nil
}

// nudgeGC makes the idle daemon collect garbage by handing it garbage: ng
// datagrams of 32 KiB without a cookie, which the server copies, drops
// (counted as no_cookie: no reply, no cache entry) and forgets. There is no
// debug endpoint to call runtime.GC, on purpose. It stops as soon as the
// GC count moves, so that little of its own garbage is left in the sample
// that follows, and the baseline is taken the same way so that both carry
// the same small residue. It reports an error if no GC ran.
func nudgeGC(d *Daemon, s *sampler, gcs float64) error {
	conn, err := net.Dial("udp", d.NG)
	if err != nil {
		return err
	}
	defer conn.Close()
	junk := make([]byte, 32<<10)
	for i := range junk {
		junk[i] = 'x' // no space: no cookie
	}
	for i := 1; i <= 4000; i++ {
		conn.Write(junk)
		time.Sleep(time.Millisecond) // the socket buffer holds only a few
		if i%16 == 0 {
			if m, err := s.s.scrape(); err == nil && m["go_gc_duration_seconds_count"] > gcs {
				return nil
			}
		}
	}
	return waitFor(2*time.Second, func() bool {
		m, err := s.s.scrape()
		return err == nil && m["go_gc_duration_seconds_count"] > gcs
	})
}

// settleGC gets one GC run in the daemon right before a sample: by the
// nudge, or else by the runtime's forced GC (every 2 minutes at most).
func settleGC(smp *sampler, d *Daemon, progress io.Writer) error {
	before, err := smp.s.scrape()
	if err != nil {
		return err
	}
	gcs := before["go_gc_duration_seconds_count"]
	if err := nudgeGC(d, smp, gcs); err == nil {
		return nil
	}
	fmt.Fprintln(progress, "no GC after the nudge; waiting for the runtime's forced GC")
	return waitFor(150*time.Second, func() bool {
		m, err := smp.s.scrape()
		return err == nil && m["go_gc_duration_seconds_count"] > gcs
	})
}

func waitFor(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", within)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// callEnds counts call_end records in the whole log by end_reason.
func callEnds(path string) (map[string]int, error) {
	files, err := audit.Files(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct {
				Type   string `json:"type"`
				Reason string `json:"end_reason"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				fh.Close()
				return nil, fmt.Errorf("%s: %v", f, err)
			}
			if rec.Type == "call_end" {
				out[rec.Reason]++
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// judge turns the run into checks.
func (res *Result) judge(r *runner, stopErr error, verifyOK bool, settled time.Duration) {
	t := &r.tot
	cfg := res.Config
	res.Totals = map[string]any{
		"calls_set_up": t.CallsSetUp.Load(), "calls_ended": t.CallsEnded.Load(),
		"setup_failed": t.SetupFailed.Load(), "delete_failed": t.DeleteFailed.Load(),
		"sent_up": t.SentUp.Load(), "sent_down": t.SentDown.Load(),
		"lost_up": t.LostUp.Load(), "lost_down": t.LostDown.Load(), "calls_with_loss": t.CallsWithLoss.Load(),
		"bad": t.Bad.Load(), "early": t.Early.Load(), "send_errors": t.SendErrors.Load(),
		"first_setup_error": t.FirstSetupErr, "first_loss": t.FirstLossCall,
		"settle_sec": settled.Seconds(),
	}
	lost := t.LostUp.Load() + t.LostDown.Load()
	res.check("no packet of a live call lost", lost == 0 && t.SentUp.Load() > 0 && t.SentDown.Load() > 0,
		"%d of %d up, %d of %d down lost over %d calls; %s", t.LostUp.Load(), t.SentUp.Load(),
		t.LostDown.Load(), t.SentDown.Load(), t.CallsEnded.Load(), t.FirstLossCall)
	res.check("every setup and delete succeeded", t.SetupFailed.Load() == 0 && t.DeleteFailed.Load() == 0,
		"%d setups failed (%s), %d deletes failed", t.SetupFailed.Load(), t.FirstSetupErr, t.DeleteFailed.Load())
	res.check("nothing unexpected reached the peers", t.Bad.Load() == 0 && t.Early.Load() == 0 && t.SendErrors.Load() == 0,
		"%d wrong/unauthenticated, %d early SRTP, %d send errors", t.Bad.Load(), t.Early.Load(), t.SendErrors.Load())
	pt := res.Final.m["srtpgw_upstream_plaintext_packets_total"]
	res.check("srtpgw_upstream_plaintext_packets_total 0", pt == 0, "%v", pt)
	b, f := res.Baseline, res.Final
	res.check("goroutines back to baseline", f.Goroutines <= b.Goroutines+float64(cfg.Margins.Goroutines),
		"%.0f final, %.0f baseline, margin %d", f.Goroutines, b.Goroutines, cfg.Margins.Goroutines)
	res.check("fds back to baseline", f.FDs <= b.FDs+cfg.Margins.FDs,
		"%d final, %d baseline, margin %d", f.FDs, b.FDs, cfg.Margins.FDs)
	allow := cfg.Margins.HeapBytes + f.CacheEntries*cfg.Margins.CacheEntryBytes
	res.check("heap back to baseline", f.HeapInuse <= b.HeapInuse+allow,
		"%.1f MiB final, %.1f MiB baseline, allowed +%.1f MiB (%.1f margin + %.0f cached ng replies)",
		f.HeapInuse/(1<<20), b.HeapInuse/(1<<20), allow/(1<<20), cfg.Margins.HeapBytes/(1<<20), f.CacheEntries)
	ends := 0
	for _, n := range res.CallEnds {
		ends += n
	}
	res.check("one call_end per call, all by delete", uint64(ends) == t.CallsEnded.Load() && res.CallEnds["delete"] == ends,
		"%d call_end records %v for %d calls", ends, res.CallEnds, t.CallsEnded.Load())
	res.check("SIGTERM exit 0 and audit verify OK", stopErr == nil && verifyOK, "exit: %v; verify: %s", stopErr, res.Verify)
	res.Pass = true
	for _, c := range res.Checks {
		res.Pass = res.Pass && c.OK
	}
}

func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
