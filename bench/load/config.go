package load

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Config is one load run. DefaultConfig fills every field; the command
// sets what its flags say.
type Config struct {
	NG    string // ng address of the relay under test
	Label string // name of the relay in output ("rtpengine", "srtpgw", ...)
	PID   int    // relay process for CPU and RSS; 0 = not measured

	// Steps are the concurrent call counts measured in turn, calls being
	// added between steps (a running call is never torn down early).
	Steps    []int
	Duration time.Duration // measured window per step
	Warmup   time.Duration // media before each window, not measured
	Drain    time.Duration // wait for in-flight packets after a window

	// Ramp continues after Steps with RampSteps (those above the last
	// step), RampDuration windows, and stops at the first step that fails
	// MaxLoss or MaxP99, or when RampMaxTime is spent.
	Ramp         bool
	RampSteps    []int
	RampDuration time.Duration
	RampMaxTime  time.Duration
	MaxLoss      float64
	MaxP99       time.Duration

	Direction     []string   // ng direction [lan, wan]; empty = not sent
	PhoneAddr     netip.Addr // where the phones' sockets live
	PhonePortBase int        // phones bind even ports from here
	UpstreamAddr  netip.Addr // where the upstreams' sockets live

	PlainUpstream bool // no DTLS-SRTP upstream: for the bare forwarder
	// StaticSRTP (with PlainUpstream) keeps the upstream's media SRTP,
	// keyed from the call-id by bench/statickeys instead of DTLS: for
	// `udp-forwarder -static-srtp`, the forwarder plus pion's transform.
	StaticSRTP bool
	GCM        bool   // offer SRTP_AEAD_AES_128_GCM instead of AES128_CM_HMAC_SHA1_80
	DTLSSetup  string // the upstream's a=setup: "active" (DTLS client) or "passive"
	RTCPMux    bool   // ask the relay to offer rtcp-mux upstream (RFC 5761)

	// ICE makes every upstream a minimal full ICE agent facing an
	// ICE-lite relay (srtpgw with ICE=force): the offer asks for WebRTC
	// (UDP/TLS/RTP/SAVPF, rtcp-mux required), the upstream nominates the
	// relay's candidate before DTLS and sends a consent check every
	// ICEConsentInterval (RFC 7675 §5.1: 5 s) while media flows.
	ICE                bool
	ICEConsentInterval time.Duration

	// SetupConcurrency is the calls being set up at once. srtpgw caps
	// concurrent DTLS handshakes per source IP at 8, and every simulated
	// upstream shares one IP, so the default stays well under that.
	SetupConcurrency int
	SetupTimeout     time.Duration // one call, offer to keys
	Senders          int           // pacing goroutines
	Slots            int           // ticks per 20 ms period
	NGTimeout        time.Duration // per ng try
	NGRetries        int           // ng sends per command

	Progress io.Writer // one line per second; nil = quiet
}

// DefaultConfig matches the benchmark in bench/compare.sh.
func DefaultConfig() Config {
	return Config{
		NG:                 "127.0.0.1:2223",
		Label:              "relay",
		Steps:              []int{100},
		Duration:           20 * time.Second,
		Warmup:             time.Second,
		Drain:              300 * time.Millisecond,
		RampSteps:          []int{100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200, 1400, 1600, 2000},
		RampDuration:       5 * time.Second,
		RampMaxTime:        3 * time.Minute,
		MaxLoss:            0.001,
		MaxP99:             5 * time.Millisecond,
		PhoneAddr:          netip.MustParseAddr("127.0.1.1"),
		PhonePortBase:      20000,
		UpstreamAddr:       netip.MustParseAddr("127.0.2.1"),
		DTLSSetup:          "active",
		RTCPMux:            true,
		ICEConsentInterval: 5 * time.Second,
		SetupConcurrency:   4,
		SetupTimeout:       15 * time.Second,
		Senders:            2,
		Slots:              50,
		NGTimeout:          time.Second,
		NGRetries:          5,
	}
}

// Validate refuses settings that cannot produce a meaningful run.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Steps) == 0 && !c.Ramp {
		errs = append(errs, errors.New("no steps and no ramp: nothing to measure"))
	}
	for i, n := range c.Steps {
		if n <= 0 || (i > 0 && n <= c.Steps[i-1]) {
			errs = append(errs, fmt.Errorf("steps must be positive and increasing: %v", c.Steps))
			break
		}
	}
	if c.Duration <= 0 || c.RampDuration <= 0 {
		errs = append(errs, errors.New("durations must be positive"))
	}
	if c.DTLSSetup != "active" && c.DTLSSetup != "passive" {
		errs = append(errs, fmt.Errorf("dtls setup %q: want active or passive", c.DTLSSetup))
	}
	if c.ICE && (c.PlainUpstream || !c.RTCPMux) {
		errs = append(errs, errors.New("-ice needs a DTLS-SRTP upstream with rtcp-mux (WebRTC requires both): drop -plain-upstream and -rtcp-mux=false"))
	}
	if c.StaticSRTP && (!c.PlainUpstream || c.ICE) {
		errs = append(errs, errors.New("static SRTP keys replace DTLS on a plain (RTP/AVP) upstream: it needs -plain-upstream and no -ice"))
	}
	if c.ICE && c.ICEConsentInterval <= 0 {
		errs = append(errs, errors.New("ICE consent interval must be positive"))
	}
	if len(c.Direction) != 0 && len(c.Direction) != 2 {
		errs = append(errs, fmt.Errorf("direction needs two interface names, got %v", c.Direction))
	}
	if !c.PhoneAddr.IsValid() || !c.UpstreamAddr.IsValid() {
		errs = append(errs, errors.New("phone and upstream addresses are required"))
	}
	if c.PhonePortBase < 1024 || c.PhonePortBase > 65000 {
		errs = append(errs, fmt.Errorf("phone port base %d out of range", c.PhonePortBase))
	}
	if c.SetupConcurrency < 1 || c.Senders < 1 || c.Slots < 1 {
		errs = append(errs, errors.New("setup concurrency, senders and slots must be >= 1"))
	}
	return errors.Join(errs...)
}

// Period is the packet interval: 20 ms of G.711 per packet, 50 packets/s.
const Period = 20 * time.Millisecond
