package forwarder

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/bench/load"
)

// TestLoadToolAgainstForwarder runs the real load tool (plain upstream)
// against the forwarder over loopback: a short fixed step, then a ramp.
// Bounds are generous so a busy 2-core box does not flake it; exactness
// is asserted where it is structural (every packet sent is delivered,
// every call is deleted).
func TestLoadToolAgainstForwarder(t *testing.T) {
	before := runtime.NumGoroutine()
	lo := netip.MustParseAddr("127.0.0.1")
	s, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 54000, PortMax: 54999,
		Interfaces: []Interface{{"lan", lo}, {"wan", lo}}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()

	cfg := load.DefaultConfig()
	cfg.NG = s.Addr().String()
	cfg.Label = "forwarder"
	cfg.PID = os.Getpid()
	cfg.PlainUpstream = true
	cfg.Direction = []string{"lan", "wan"}
	cfg.PhoneAddr, cfg.UpstreamAddr = lo, lo
	cfg.PhonePortBase = 30000 + 2*rand.IntN(5000)
	cfg.Steps = []int{3}
	cfg.Duration = time.Second
	cfg.Warmup = 200 * time.Millisecond
	cfg.Ramp = true
	cfg.RampSteps = []int{2, 3, 5}
	cfg.RampDuration = 400 * time.Millisecond
	cfg.MaxP99 = time.Second // structure, not speed, is under test
	cfg.MaxLoss = 0.5

	res := runClean(t, cfg)
	if len(res.Steps) != 2 || res.Steps[0].Calls != 3 || res.Steps[1].Calls != 5 || !res.Steps[1].Ramp {
		t.Fatalf("steps %+v", res.Steps)
	}
	st := res.Steps[0]
	// 3 calls, 50 packets/s each way, for ~1 s.
	for name, d := range map[string]load.DirStats{"up": st.Up, "down": st.Down} {
		if d.Sent < 3*40 || d.Sent > 3*60 || d.Delivered != d.Sent {
			t.Errorf("%s: sent %d delivered %d, want ~150 and all delivered", name, d.Sent, d.Delivered)
		}
		if d.P50US <= 0 || d.MaxUS < d.P99US || d.P99US < d.P50US {
			t.Errorf("%s: latency percentiles out of order: %+v", name, d)
		}
	}
	if st.Setup.OK != 3 || st.Setup.RatePerSec <= 0 || st.RelayCPU == nil || st.RelayRSSKB <= 0 {
		t.Errorf("setup/cpu/rss not measured: %+v", st)
	}
	if res.Ramp == nil || res.Ramp.MaxCalls != 5 || res.Ramp.StepsPassed != 2 {
		t.Errorf("ramp %+v", res.Ramp)
	}
	if res.Teardown.Deleted != 5 || s.Calls() != 0 {
		t.Errorf("teardown %+v, forwarder still has %d calls", res.Teardown, s.Calls())
	}
	if res.Mode != "plain" || res.Host.GoVersion == "" {
		t.Errorf("result header %+v", res)
	}
	// Every socket goroutine of the load tool and the forwarder ends.
	s.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the run, %d before", n, before)
	}
}

// TestLoadToolDemuxedRTCP: without rtcp-mux the upstream binds its own
// RTCP port and announces it with a=rtcp; calls still set up, carry every
// packet and are deleted.
func TestLoadToolDemuxedRTCP(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	s, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 55000, PortMax: 55999, Interfaces: []Interface{{"lan", lo}}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Close()
	cfg := load.DefaultConfig()
	cfg.NG, cfg.PlainUpstream, cfg.RTCPMux = s.Addr().String(), true, false
	cfg.PhoneAddr, cfg.UpstreamAddr = lo, lo
	cfg.PhonePortBase = 40000 + 2*rand.IntN(5000)
	cfg.Steps, cfg.Duration, cfg.Warmup = []int{2}, 500*time.Millisecond, 100*time.Millisecond
	runClean(t, cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) != 0 {
		t.Fatalf("%d calls left", len(s.calls))
	}
}

// runClean runs the load tool with cfg (bounded at 30 s) and fails the
// test unless the run is clean: every packet delivered, no auth failure,
// every call deleted (load.Result.Clean).
func runClean(t *testing.T, cfg load.Config) *load.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := res.Clean(); !ok {
		t.Fatalf("not clean: %s", why)
	}
	return res
}
