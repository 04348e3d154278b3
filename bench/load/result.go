package load

import (
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Result is one run against one relay, written as JSON by -json.
type Result struct {
	Label      string    `json:"label"`
	NG         string    `json:"ng"`
	PID        int       `json:"pid,omitempty"`
	Mode       string    `json:"mode"` // "dtls-srtp" or "plain"
	Profile    string    `json:"profile,omitempty"`
	ICE        bool      `json:"ice,omitempty"` // -ice: upstreams are full ICE agents
	Started    time.Time `json:"started"`
	Host       Host      `json:"host"`
	BaseRSSKB  int64     `json:"relay_base_rss_kb,omitempty"`
	Steps      []Step    `json:"steps"`
	Ramp       *Ramp     `json:"ramp,omitempty"`
	Teardown   Teardown  `json:"teardown"`
	Counters   Counters  `json:"counters"`
	LoadCPUSec float64   `json:"load_cpu_sec"`
	Error      string    `json:"error,omitempty"`
}

// Host describes the machine the numbers belong to.
type Host struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// Step is one measured window at a fixed number of concurrent calls.
type Step struct {
	Calls    int      `json:"calls"`
	Ramp     bool     `json:"ramp,omitempty"`
	Window   float64  `json:"window_sec"`
	Setup    Setup    `json:"setup"`
	Up       DirStats `json:"up"`   // phone -> upstream
	Down     DirStats `json:"down"` // upstream -> phone
	RelayCPU *CPU     `json:"relay_cpu,omitempty"`
	// RelayRSSKB is VmRSS at the end of the window; MemPerCallKB is its
	// growth over the base (before any call) divided by the calls.
	RelayRSSKB   int64   `json:"relay_rss_kb,omitempty"`
	MemPerCallKB float64 `json:"mem_per_call_kb,omitempty"`
	LoadCPU      CPU     `json:"load_cpu"`
	// PacerMaxLagMS is the worst lateness of the load tool's own pacer in
	// the window: large values mean the load tool, not the relay, was short
	// of CPU.
	PacerMaxLagMS float64 `json:"pacer_max_lag_ms"`
	// OtherCPUPct is the machine's busy CPU in the window that was neither
	// the relay nor the load tool (other processes, kernel threads), and
	// StealPct what the hypervisor took: both make a step's numbers less
	// trustworthy when large.
	OtherCPUPct float64 `json:"other_cpu_pct"`
	StealPct    float64 `json:"steal_pct"`
	// ICE is the window's consent checks with -ice.
	ICE  *ICEWindow `json:"ice,omitempty"`
	Pass bool       `json:"pass"`
	Fail string     `json:"fail,omitempty"`
	// Noisy marks a failed ramp step measured while the rest of the
	// machine was busy; the next step in the list is its re-measurement.
	Noisy bool `json:"noisy,omitempty"`
}

// Setup is the call setup of the calls added for a step.
type Setup struct {
	Attempted  int     `json:"attempted"`
	OK         int     `json:"ok"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	WallSec    float64 `json:"wall_sec"`
	RatePerSec float64 `json:"rate_per_sec"`
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"`
	MaxMS      float64 `json:"max_ms"`
}

// DirStats is one direction over one window.
type DirStats struct {
	Sent       uint64  `json:"sent"`
	Delivered  uint64  `json:"delivered"`
	Lost       uint64  `json:"lost"`
	LossPct    float64 `json:"loss_pct"`
	SendErrors uint64  `json:"send_errors"`
	PPS        float64 `json:"pps"`
	P50US      float64 `json:"lat_p50_us"`
	P99US      float64 `json:"lat_p99_us"`
	P999US     float64 `json:"lat_p999_us"`
	MaxUS      float64 `json:"lat_max_us"`
}

// CPU is a process's CPU use over a window.
type CPU struct {
	Seconds float64 `json:"sec"`
	Percent float64 `json:"pct"` // of one core
	// USPerPacket is CPU µs per relayed (delivered) packet, both
	// directions counted.
	USPerPacket float64 `json:"us_per_pkt"`
}

// Ramp is the answer of ramp mode.
type Ramp struct {
	MaxLossPct  float64 `json:"max_loss_pct"`
	MaxP99MS    float64 `json:"max_p99_ms"`
	MaxCalls    int     `json:"max_calls"` // highest passing step; 0 = none passed
	StoppedAt   int     `json:"stopped_at,omitempty"`
	StopReason  string  `json:"stop_reason"`
	ElapsedSec  float64 `json:"elapsed_sec"`
	StepsPassed int     `json:"steps_passed"`
}

// Teardown is the deletion of every call at the end.
type Teardown struct {
	Deleted    int     `json:"deleted"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	WallSec    float64 `json:"wall_sec"`
}

// Counters are anomalies over the whole run.
type Counters struct {
	Invalid         uint64       `json:"invalid"`
	EarlySRTP       uint64       `json:"early_srtp"`
	AuthFail        uint64       `json:"auth_fail"`
	Reordered       uint64       `json:"reordered"`
	RTCP            uint64       `json:"rtcp"`
	NGRetransmitted uint64       `json:"ng_retransmitted"`
	ICE             *ICECounters `json:"ice,omitempty"` // -ice only
}

func dirStats(w DirWindow, window time.Duration) DirStats {
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	d := DirStats{Sent: w.Sent, Delivered: w.Received, Lost: w.Lost(), LossPct: 100 * w.LossRatio(),
		SendErrors: w.SendErrors}
	if window > 0 {
		d.PPS = float64(w.Received) / window.Seconds()
	}
	if w.Lat != nil {
		d.P50US, d.P99US, d.P999US = us(w.Lat.Quantile(0.5)), us(w.Lat.Quantile(0.99)), us(w.Lat.Quantile(0.999))
		d.MaxUS = us(time.Duration(w.Lat.Max))
	}
	return d
}

// setupStats summarises setup durations (sorted in place).
func setupStats(durs []time.Duration, failed int, firstErr string, wall time.Duration) Setup {
	s := Setup{Attempted: len(durs) + failed, OK: len(durs), Failed: failed, FirstError: firstErr, WallSec: wall.Seconds()}
	if wall > 0 {
		s.RatePerSec = float64(len(durs)) / wall.Seconds()
	}
	if len(durs) == 0 {
		return s
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	s.P50MS = ms(nearestRank(durs, 0.5))
	s.P99MS = ms(nearestRank(durs, 0.99))
	s.MaxMS = ms(durs[len(durs)-1])
	return s
}

// nearestRank is the q-quantile of sorted values by the nearest-rank rule.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// HostInfo reads the CPU model and kernel from /proc.
func HostInfo() Host {
	h := Host{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	return h
}
