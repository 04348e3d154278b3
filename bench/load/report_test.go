package load

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleResult(label string, usPerPkt float64) *Result {
	step := func(calls int, ramp bool) Step {
		return Step{Calls: calls, Ramp: ramp, Window: 20, Pass: true,
			Setup:    Setup{Attempted: calls, OK: calls, RatePerSec: 500, P50MS: 5, P99MS: 9},
			Up:       DirStats{Sent: uint64(calls) * 1000, Delivered: uint64(calls) * 1000, PPS: float64(calls) * 50, P50US: 90, P99US: 300, P999US: 900, MaxUS: 2000},
			Down:     DirStats{Sent: uint64(calls) * 1000, Delivered: uint64(calls) * 1000, PPS: float64(calls) * 50, P50US: 95, P99US: 310, P999US: 950, MaxUS: 2100},
			RelayCPU: &CPU{Seconds: 5, Percent: 25, USPerPacket: usPerPkt}, RelayRSSKB: 60 << 10, MemPerCallKB: 120,
			LoadCPU: CPU{Percent: 30}}
	}
	return &Result{Label: label, Mode: "dtls-srtp", Profile: "SRTP_AES128_CM_HMAC_SHA1_80",
		Steps:    []Step{step(100, false), step(400, false), step(600, true)},
		Ramp:     &Ramp{MaxLossPct: 0.1, MaxP99MS: 5, MaxCalls: 600, StopReason: "time budget 90s spent"},
		Teardown: Teardown{Deleted: 600}}
}

func TestClean(t *testing.T) {
	cases := []struct {
		name  string
		mut   func(r *Result)
		clean bool
		why   string
	}{
		{"clean", func(*Result) {}, true, ""},
		{"one packet lost", func(r *Result) { r.Steps[1].Down.Lost = 1 }, false, "lost 0 up, 1 down"},
		{"setup failed", func(r *Result) { r.Steps[0].Setup.Failed = 2 }, false, "2 setups failed"},
		{"send errors", func(r *Result) { r.Steps[2].Up.SendErrors = 3 }, false, "3 send errors"},
		{"nothing sent", func(r *Result) { r.Steps[0].Up.Sent = 0 }, false, "no media"},
		{"delete failed", func(r *Result) { r.Teardown.Failed = 1 }, false, "deletes failed"},
		{"auth failures", func(r *Result) { r.Counters.AuthFail = 4 }, false, "authentication"},
		{"run error", func(r *Result) { r.Error = "relay gone" }, false, "relay gone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sampleResult("x", 10)
			c.mut(r)
			ok, why := r.Clean()
			if ok != c.clean || !strings.Contains(why, c.why) {
				t.Fatalf("Clean = %v %q, want %v containing %q", ok, why, c.clean, c.why)
			}
		})
	}
}

func TestTables(t *testing.T) {
	rs := []*Result{sampleResult("rtpengine", 12), sampleResult("srtpgw", 6)}
	rs[1].Steps[2].Pass, rs[1].Steps[2].Fail = false, "loss up 0.200% down 0.000%"

	var md bytes.Buffer
	WriteMarkdown(&md, rs)
	out := md.String()
	for _, want := range []string{
		"| relay | calls |",
		"| rtpengine | 100 | 500 | 5.0/9.0 | 5000/5000 | 0.000/0.000 | 90/300/900/2000 | 95/310/950/2100 | 25.0 | 12.00 | 60.0 | 120.0 | 30.0 | 0 | yes |",
		"| srtpgw | 600 (ramp) |",
		"NO: loss up 0.200%",
		"- srtpgw ramp (loss < 0.10%, p99 < 5.0 ms): max 600 calls",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n| "); !strings.HasPrefix(out, "| relay |") || n != 6 {
		t.Errorf("%d table rows after the header, want 6 (3 steps × 2 relays)", n)
	}

	var cmp bytes.Buffer
	WriteComparison(&cmp, rs)
	if !strings.Contains(cmp.String(), "- 400 calls: rtpengine 12.00 µs/pkt, p99 300/310 µs; srtpgw 6.00 µs/pkt, p99 300/310 µs (0.50× rtpengine)") {
		t.Errorf("comparison:\n%s", cmp.String())
	}
	if strings.Contains(cmp.String(), "- 600 calls") {
		t.Error("ramp steps compared as if they were the same load")
	}

	var tty bytes.Buffer
	WriteTable(&tty, rs)
	if !strings.Contains(tty.String(), "srtpgw     600 (ramp)") {
		t.Errorf("terminal table:\n%s", tty.String())
	}
}

func TestResultJSONRoundTrip(t *testing.T) {
	r := sampleResult("srtpgw", 7)
	r.Started = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"us_per_pkt":7`, `"lat_p999_us":900`, `"mem_per_call_kb":120`, `"max_calls":600`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Steps[1].RelayCPU.USPerPacket != 7 || back.Ramp.MaxCalls != 600 || !back.Started.Equal(r.Started) {
		t.Fatalf("round trip lost data: %+v", back)
	}
}

func TestSetupStats(t *testing.T) {
	durs := []time.Duration{9 * time.Millisecond, 1 * time.Millisecond, 5 * time.Millisecond, 3 * time.Millisecond}
	s := setupStats(durs, 1, "boom", 2*time.Second)
	if s.Attempted != 5 || s.OK != 4 || s.Failed != 1 || s.RatePerSec != 2 || s.P50MS != 3 || s.MaxMS != 9 || s.P99MS != 9 {
		t.Fatalf("%+v", s)
	}
	if z := setupStats(nil, 0, "", 0); z.RatePerSec != 0 || z.P50MS != 0 {
		t.Fatalf("%+v", z)
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	static := DefaultConfig()
	static.PlainUpstream, static.StaticSRTP = true, true
	if err := static.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(c *Config){
		"decreasing steps": func(c *Config) { c.Steps = []int{200, 100} },
		"no steps no ramp": func(c *Config) { c.Steps = nil },
		"zero duration":    func(c *Config) { c.Duration = 0 },
		"bad setup":        func(c *Config) { c.DTLSSetup = "actpass" },
		"one direction":    func(c *Config) { c.Direction = []string{"lan"} },
		"no senders":       func(c *Config) { c.Senders = 0 },
		"low port base":    func(c *Config) { c.PhonePortBase = 80 },
		// Static keys replace DTLS only on a plain upstream, never with ICE.
		"static keys over DTLS": func(c *Config) { c.StaticSRTP = true },
		"static keys with ICE":  func(c *Config) { c.StaticSRTP, c.PlainUpstream, c.ICE = true, true, true },
	}
	for name, mut := range cases {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRampResultSkipsNoisySteps(t *testing.T) {
	r := &runner{cfg: DefaultConfig(), res: &Result{Steps: []Step{
		{Calls: 100, Pass: true},
		{Calls: 200, Pass: false, Noisy: true, Fail: "p99"}, // re-measured just after
		{Calls: 200, Pass: true},
		{Calls: 300, Pass: false, Fail: "loss"},
		{Calls: 400, Pass: true}, // never reached in a real ramp; must not count
	}}}
	rp := r.rampResult(300, "loss", time.Second)
	if rp.MaxCalls != 200 || rp.StepsPassed != 2 || rp.MaxLossPct != 0.1 || rp.MaxP99MS != 5 {
		t.Fatalf("%+v", rp)
	}
}

func TestComparisonUsesRemeasuredStep(t *testing.T) {
	ref, other := sampleResult("rtpengine", 12), sampleResult("srtpgw", 6)
	noisy := other.Steps[1] // 400 calls, measured while the box was busy
	noisy.Noisy, noisy.Pass, noisy.RelayCPU = true, false, &CPU{USPerPacket: 99}
	other.Steps = append([]Step{other.Steps[0], noisy}, other.Steps[1:]...)
	var b bytes.Buffer
	WriteComparison(&b, []*Result{ref, other})
	if !strings.Contains(b.String(), "srtpgw 6.00 µs/pkt") || strings.Contains(b.String(), "99.00") {
		t.Fatalf("comparison used the noisy step:\n%s", b.String())
	}
	var md bytes.Buffer
	WriteMarkdown(&md, []*Result{other})
	if !strings.Contains(md.String(), "| srtpgw | 400 (noisy, re-measured below) |") {
		t.Fatalf("noisy step not marked:\n%s", md.String())
	}
}
