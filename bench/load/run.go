package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/srtpgw/srtpgw/bench/statickeys"
)

// runner holds one run's shared state.
type runner struct {
	cfg    Config
	runID  uint32
	ng     *NGClient
	st     *Stats
	tls    *upstreamTLS
	phones *portBinder
	wheels []*Wheel
	stop   chan struct{}
	wg     sync.WaitGroup
	calls  []*call
	next   int // index of the next call: never reused, so call-ids never collide
	nflows int
	epoch  uint32
	res    *Result

	consent *consentScheduler // -ice only
}

// Run drives the relay at cfg.NG through every step (and the ramp) and
// returns what it measured. The result is returned even with an error, as
// far as the run got; every call set up is deleted before Run returns.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, runID: rand.Uint32() % 1e6, st: &Stats{}, stop: make(chan struct{}),
		phones: &portBinder{addr: cfg.PhoneAddr, base: cfg.PhonePortBase}}
	r.res = &Result{Label: cfg.Label, NG: cfg.NG, PID: cfg.PID, Started: time.Now().UTC(), Host: HostInfo(), Mode: "plain"}
	ng, err := DialNG(cfg.NG)
	if err != nil {
		return r.res, err
	}
	ng.Timeout, ng.Retries = cfg.NGTimeout, cfg.NGRetries
	r.ng = ng
	defer ng.Close()
	if _, err := ng.Do(ctx, map[string]any{"command": "ping"}); err != nil {
		return r.res, fmt.Errorf("relay at %s does not answer ping: %w", cfg.NG, err)
	}
	if !cfg.PlainUpstream {
		if err := r.initTLS(); err != nil {
			return r.res, err
		}
	}
	if cfg.StaticSRTP {
		r.res.Mode, r.res.Profile = "static-srtp", statickeys.Profile(cfg.GCM).DTLSName()
	}
	if cfg.PID > 0 {
		rss, err := ProcRSS(cfg.PID)
		if err != nil {
			return r.res, fmt.Errorf("relay pid %d: %w", cfg.PID, err)
		}
		r.res.BaseRSSKB = rss >> 10
	}
	cpu0, _ := ProcCPU(0)
	clock := monoClock{}
	start := clock.Now()
	for i := range cfg.Senders {
		w := NewWheel(clock, Period, cfg.Slots)
		r.wheels = append(r.wheels, w)
		// Stagger the wheels inside a tick so their bursts interleave:
		// phones are not synchronised, and a relay fed synchronised bursts
		// would show queueing delay that real traffic does not cause.
		offset := Period / time.Duration(cfg.Slots*cfg.Senders) * time.Duration(i)
		r.wg.Add(1)
		go func() { defer r.wg.Done(); w.Run(start+offset, 1<<62, r.stop) }()
	}
	if cfg.ICE {
		r.res.ICE = true
		r.consent = &consentScheduler{interval: cfg.ICEConsentInterval}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.consent.run(r.stop) }()
	}
	err = r.steps(ctx)
	r.finish()
	cpu1, _ := ProcCPU(0)
	r.res.LoadCPUSec = (cpu1 - cpu0).Seconds()
	if err != nil {
		r.res.Error = err.Error()
	}
	return r.res, err
}

func (r *runner) initTLS() error {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return err
	}
	prof, name := dtls.SRTP_AES128_CM_HMAC_SHA1_80, "SRTP_AES128_CM_HMAC_SHA1_80"
	if r.cfg.GCM {
		prof, name = dtls.SRTP_AEAD_AES_128_GCM, "SRTP_AEAD_AES_128_GCM"
	}
	r.tls = &upstreamTLS{cert: cert, fingerprint: sdpFingerprint(cert.Certificate[0]),
		profiles: []dtls.SRTPProtectionProfile{prof}, client: r.cfg.DTLSSetup == "active"}
	r.res.Mode = "dtls-srtp"
	r.res.Profile = name
	return nil
}

// steps runs the fixed steps, then the ramp.
func (r *runner) steps(ctx context.Context) error {
	for _, n := range r.cfg.Steps {
		st, err := r.step(ctx, n, r.cfg.Duration, false)
		if err != nil {
			return err
		}
		if !st.Pass && r.cfg.Ramp {
			r.res.Ramp = r.rampResult(n, "fixed step failed: "+st.Fail, 0)
			return nil
		}
	}
	if !r.cfg.Ramp {
		return nil
	}
	begin := time.Now()
	last := 0
	if k := len(r.cfg.Steps); k > 0 {
		last = r.cfg.Steps[k-1]
	}
	for _, n := range r.cfg.RampSteps {
		if n <= last {
			continue
		}
		// A step costs its setup, warm-up, window and drain; estimate
		// setup generously from the last step's rate.
		est := r.cfg.Warmup + r.cfg.RampDuration + r.cfg.Drain + r.setupEstimate(n-len(r.calls))
		if time.Since(begin)+est > r.cfg.RampMaxTime {
			r.res.Ramp = r.rampResult(0, fmt.Sprintf("time budget %s spent", r.cfg.RampMaxTime), time.Since(begin))
			return nil
		}
		st, err := r.step(ctx, n, r.cfg.RampDuration, true)
		if err != nil {
			return err
		}
		if !st.Pass {
			r.res.Ramp = r.rampResult(n, st.Fail, time.Since(begin))
			return nil
		}
	}
	r.res.Ramp = r.rampResult(0, "all steps passed", time.Since(begin))
	return nil
}

func (r *runner) setupEstimate(calls int) time.Duration {
	rate := 20.0 // calls/s, pessimistic before anything is known
	if k := len(r.res.Steps); k > 0 && r.res.Steps[k-1].Setup.RatePerSec > 0 {
		rate = r.res.Steps[k-1].Setup.RatePerSec
	}
	return time.Duration(float64(calls) / rate * float64(time.Second))
}

// rampResult: the highest N of the passing steps from the start.
func (r *runner) rampResult(stoppedAt int, reason string, elapsed time.Duration) *Ramp {
	rp := &Ramp{MaxLossPct: 100 * r.cfg.MaxLoss, MaxP99MS: float64(r.cfg.MaxP99) / 1e6,
		StoppedAt: stoppedAt, StopReason: reason, ElapsedSec: elapsed.Seconds()}
	for _, s := range r.res.Steps {
		if s.Noisy {
			continue // measured again just after
		}
		if !s.Pass {
			break
		}
		rp.MaxCalls = s.Calls
		rp.StepsPassed++
	}
	return rp
}

// step brings the call count to n, warms up, and measures one window.
func (r *runner) step(ctx context.Context, n int, window time.Duration, ramp bool) (Step, error) {
	st := Step{Calls: n, Ramp: ramp}
	r.nextEpoch() // setup and warm-up are not measured
	st.Setup = r.addCalls(ctx, n)
	if st.Setup.OK == 0 && st.Setup.Failed > 0 && len(r.calls) == 0 {
		st.Fail = "no call could be set up: " + st.Setup.FirstError
		r.res.Steps = append(r.res.Steps, st)
		return st, errors.New(st.Fail)
	}
	if err := r.progressFor(ctx, r.cfg.Warmup, "warm-up", n); err != nil {
		return st, err
	}
	st, err := r.measure(ctx, st, window)
	// On a shared box another process can eat the cores mid-window; in
	// ramp mode (where a failed step ends the search) a step that failed
	// while the rest of the machine was busy is measured once more, same
	// calls, before it is believed.
	if err == nil && r.cfg.Ramp && !st.Pass && st.Setup.Failed == 0 && st.OtherCPUPct+st.StealPct >= noisyPct {
		st.Noisy = true
		r.res.Steps = append(r.res.Steps, st)
		retry := Step{Calls: n, Ramp: ramp, Setup: st.Setup}
		st, err = r.measure(ctx, retry, window)
	}
	if err != nil {
		return st, err
	}
	r.res.Steps = append(r.res.Steps, st)
	return st, nil
}

// noisyPct is the CPU (% of one core) used by the rest of the machine
// above which a failed ramp step is measured again.
const noisyPct = 20

// measure runs one window over the calls in place and judges it.
func (r *runner) measure(ctx context.Context, st Step, window time.Duration) (Step, error) {
	n := st.Calls
	measured := r.nextEpoch()
	for _, w := range r.wheels {
		w.ResetLag()
	}
	relay0, relayErr := ProcCPU(r.cfg.PID)
	self0, _ := ProcCPU(0)
	host0, steal0, _ := HostCPU()
	t0 := time.Now()
	err := r.progressFor(ctx, window, "measure", n)
	r.nextEpoch()
	elapsed := time.Since(t0)
	relay1, relayErr1 := ProcCPU(r.cfg.PID)
	self1, _ := ProcCPU(0)
	host1, steal1, _ := HostCPU()
	if err != nil {
		return st, err
	}
	r.sleep(ctx, r.cfg.Drain)
	st.Window = elapsed.Seconds()
	up, down := r.st.Window(measured, DirUp), r.st.Window(measured, DirDown)
	st.Up, st.Down = dirStats(up, elapsed), dirStats(down, elapsed)
	delivered := float64(up.Received + down.Received)
	st.LoadCPU = cpuOver(self1-self0, elapsed, delivered)
	if r.cfg.PID > 0 && relayErr == nil && relayErr1 == nil {
		c := cpuOver(relay1-relay0, elapsed, delivered)
		st.RelayCPU = &c
		if rss, err := ProcRSS(r.cfg.PID); err == nil {
			st.RelayRSSKB = rss >> 10
			st.MemPerCallKB = float64(st.RelayRSSKB-r.res.BaseRSSKB) / float64(len(r.calls))
		}
	}
	// What the rest of the machine did meanwhile: other processes and the
	// hypervisor (steal) compete with both relay and load tool for 2 cores.
	other := (host1 - host0) - (self1 - self0) - (steal1 - steal0)
	if st.RelayCPU != nil {
		other -= relay1 - relay0
	}
	st.OtherCPUPct = max(0, 100*other.Seconds()/elapsed.Seconds())
	st.StealPct = 100 * (steal1 - steal0).Seconds() / elapsed.Seconds()
	for _, w := range r.wheels {
		st.PacerMaxLagMS = max(st.PacerMaxLagMS, float64(w.MaxLag())/1e6)
	}
	if r.cfg.ICE {
		iw := r.st.ICEWindow(measured)
		st.ICE = &iw
	}
	st.Pass, st.Fail = r.judge(st, up, down)
	return st, nil
}

func cpuOver(d, window time.Duration, delivered float64) CPU {
	c := CPU{Seconds: d.Seconds()}
	if window > 0 {
		c.Percent = 100 * d.Seconds() / window.Seconds()
	}
	if delivered > 0 {
		c.USPerPacket = float64(d.Microseconds()) / delivered
	}
	return c
}

// judge applies the ramp criteria: loss < MaxLoss and p99 < MaxP99 in both
// directions, every call set up, no send error in the load tool.
func (r *runner) judge(st Step, up, down DirWindow) (bool, string) {
	switch {
	case st.Setup.Failed > 0:
		return false, fmt.Sprintf("%d call setups failed (%s)", st.Setup.Failed, st.Setup.FirstError)
	case up.Sent == 0 || down.Sent == 0:
		return false, "no media sent"
	case up.LossRatio() >= r.cfg.MaxLoss || down.LossRatio() >= r.cfg.MaxLoss:
		return false, fmt.Sprintf("loss up %.3f%% down %.3f%%", 100*up.LossRatio(), 100*down.LossRatio())
	case up.Lat.Quantile(0.99) >= r.cfg.MaxP99 || down.Lat.Quantile(0.99) >= r.cfg.MaxP99:
		return false, fmt.Sprintf("p99 up %s down %s", fmtDur(up.Lat.Quantile(0.99)), fmtDur(down.Lat.Quantile(0.99)))
	case up.SendErrors+down.SendErrors > 0:
		return false, fmt.Sprintf("%d send errors in the load tool", up.SendErrors+down.SendErrors)
	}
	return true, ""
}

func (r *runner) nextEpoch() uint32 {
	r.epoch++
	r.st.BeginEpoch(r.epoch)
	return r.epoch
}

func (r *runner) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// addCalls sets up calls until there are n, SetupConcurrency at a time,
// and starts their media.
func (r *runner) addCalls(ctx context.Context, n int) Setup {
	from := len(r.calls)
	if n <= from {
		return Setup{}
	}
	idx := make(chan int)
	var (
		mu       sync.Mutex
		durs     []time.Duration
		failed   int
		firstErr string
		added    []*call
		wg       sync.WaitGroup
	)
	begin := time.Now()
	workers := r.cfg.SetupConcurrency
	if !r.cfg.RTCPMux && !r.cfg.PlainUpstream {
		workers = max(1, workers/2) // two handshakes per call
	}
	for range min(workers, n-from) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				c, err := r.setupCall(ctx, i)
				mu.Lock()
				if err != nil {
					failed++
					if firstErr == "" {
						firstErr = err.Error()
					}
				} else {
					durs = append(durs, c.setup)
					added = append(added, c)
				}
				mu.Unlock()
			}
		}()
	}
	for ; from < n && ctx.Err() == nil; from++ {
		idx <- r.next
		r.next++
	}
	close(idx)
	wg.Wait()
	wall := time.Since(begin)
	for _, c := range added {
		r.calls = append(r.calls, c)
		for _, f := range []*flow{c.phoneFlow, c.upFlow} {
			r.wheels[r.nflows%len(r.wheels)].Add(f)
			r.nflows++
		}
		if c.ice != nil {
			r.consent.add(c.ice)
		}
	}
	return setupStats(durs, failed, firstErr, wall)
}

// finish stops media, lets the last packets land, deletes every call.
func (r *runner) finish() {
	close(r.stop)
	r.wg.Wait()
	r.nextEpoch()
	time.Sleep(r.cfg.Drain)
	ctx := context.Background()
	begin := time.Now()
	ch := make(chan *call)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
		td Teardown
	)
	for range min(r.cfg.SetupConcurrency, max(len(r.calls), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				err := r.teardown(ctx, c)
				mu.Lock()
				if err != nil {
					td.Failed++
					if td.FirstError == "" {
						td.FirstError = err.Error()
					}
				} else {
					td.Deleted++
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range r.calls {
		ch <- c
	}
	close(ch)
	wg.Wait()
	td.WallSec = time.Since(begin).Seconds()
	r.res.Teardown = td
	r.res.Counters = Counters{Invalid: r.st.Invalid.Load(), EarlySRTP: r.st.Early.Load(), AuthFail: r.st.AuthFail.Load(),
		Reordered: r.st.Reordered.Load(), RTCP: r.st.RTCP.Load(), NGRetransmitted: r.ng.Retransmissions()}
	if r.cfg.ICE {
		ice := r.st.ICETotals()
		r.res.Counters.ICE = &ice
	}
}
