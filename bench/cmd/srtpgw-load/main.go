// Command srtpgw-load drives an ng media relay (srtpgw, rtpengine, or the
// bare udp-forwarder) with simulated calls and measures loss, latency,
// call setup, and the relay's CPU and memory.
//
//	srtpgw-load -ng 127.0.0.1:2223 -pid $(pidof rtpengine) -calls 100,200,400 -duration 20s -ramp -json out.json
//	srtpgw-load -calls 20 -duration 5s -assert-no-loss        # CI smoke
//	srtpgw-load -ice -calls 400 -duration 20s                 # WebRTC upstreams (srtpgw only)
//	srtpgw-load report [-md|-compare|-floor] a.json b.json    # tables from saved results
//	srtpgw-load ping -ng 127.0.0.1:2223 -wait 10s             # wait for a relay to answer
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/srtpgw/srtpgw/bench/load"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "report":
			os.Exit(report(os.Args[2:]))
		case "ping":
			os.Exit(ping(os.Args[2:]))
		}
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg := load.DefaultConfig()
	fs := flag.NewFlagSet("srtpgw-load", flag.ContinueOnError)
	fs.StringVar(&cfg.NG, "ng", cfg.NG, "ng control `ADDR:PORT` of the relay under test")
	fs.StringVar(&cfg.Label, "label", cfg.Label, "name of the relay in the output")
	fs.IntVar(&cfg.PID, "pid", 0, "relay `PID` for CPU (utime+stime) and VmRSS; 0 = not measured")
	pidfile := fs.String("pidfile", "", "read the relay PID from this `FILE` (instead of -pid)")
	steps := fs.String("calls", "100", "concurrent calls, or an increasing `LIST` (100,200,400) measured in turn")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured window per step (T)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured media before each window")
	fs.BoolVar(&cfg.Ramp, "ramp", false, "after -calls, ramp up to find the highest N with loss < -max-loss and p99 < -max-p99")
	rampSteps := fs.String("ramp-steps", joinInts(cfg.RampSteps), "ramp call counts (those above the last -calls step are used)")
	fs.DurationVar(&cfg.RampDuration, "ramp-duration", cfg.RampDuration, "measured window per ramp step")
	fs.DurationVar(&cfg.RampMaxTime, "ramp-max-time", cfg.RampMaxTime, "time budget of the ramp")
	fs.Float64Var(&cfg.MaxLoss, "max-loss", cfg.MaxLoss, "ramp pass criterion: loss ratio below this")
	fs.DurationVar(&cfg.MaxP99, "max-p99", cfg.MaxP99, "ramp pass criterion: p99 one-way latency below this")
	dir := fs.String("direction", "", "ng direction `FROM,TO` (e.g. lan,wan) when the relay has two interfaces")
	phone := fs.String("phone-addr", cfg.PhoneAddr.String(), "`IP` the simulated phones bind")
	up := fs.String("upstream-addr", cfg.UpstreamAddr.String(), "`IP` the simulated upstreams bind")
	fs.IntVar(&cfg.PhonePortBase, "phone-port-base", cfg.PhonePortBase, "first phone RTP port (even ports upward)")
	fs.BoolVar(&cfg.PlainUpstream, "plain-upstream", false, "plain RTP upstream, no DTLS-SRTP (for the bare udp-forwarder)")
	fs.BoolVar(&cfg.StaticSRTP, "static-srtp", false, "with -plain-upstream, the upstream still sends and expects SRTP, keyed from the call-id (bench/statickeys) instead of DTLS: for `udp-forwarder -static-srtp` only")
	fs.BoolVar(&cfg.GCM, "gcm", false, "upstream offers SRTP_AEAD_AES_128_GCM instead of AES128_CM_HMAC_SHA1_80")
	fs.StringVar(&cfg.DTLSSetup, "dtls-setup", cfg.DTLSSetup, "upstream's a=setup: active (it is the DTLS client) or passive")
	fs.BoolVar(&cfg.RTCPMux, "rtcp-mux", cfg.RTCPMux, "ask the relay to offer rtcp-mux upstream (false: rtcp-mux demux, and the upstream runs a second DTLS handshake on its RTCP port)")
	fs.BoolVar(&cfg.ICE, "ice", false, "upstreams are full ICE agents (WebRTC): ng ICE=force, UDP/TLS/RTP/SAVPF, rtcp-mux required; each nominates the relay's candidate before DTLS and sends consent checks (srtpgw only: needs an ICE-lite relay)")
	fs.DurationVar(&cfg.ICEConsentInterval, "ice-consent", cfg.ICEConsentInterval, "with -ice, mean interval of each upstream's consent checks (RFC 7675: 5s)")
	fs.IntVar(&cfg.SetupConcurrency, "setup-concurrency", cfg.SetupConcurrency, "calls set up in parallel")
	fs.IntVar(&cfg.Senders, "senders", cfg.Senders, "pacing goroutines")
	fs.DurationVar(&cfg.NGTimeout, "ng-timeout", cfg.NGTimeout, "wait per ng try before resending")
	fs.IntVar(&cfg.NGRetries, "ng-retries", cfg.NGRetries, "ng sends per command")
	jsonOut := fs.String("json", "", "write the result as JSON to `FILE`")
	assert := fs.Bool("assert-no-loss", false, "exit 1 on any loss, failed setup or delete, send or auth error")
	quiet := fs.Bool("quiet", false, "no progress lines")
	cpuprofile := fs.String("cpuprofile", "", "write the load tool's own CPU profile to `FILE`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if cfg.Steps, err = parseInts(*steps); err != nil {
		return usage(err)
	}
	if cfg.RampSteps, err = parseInts(*rampSteps); err != nil {
		return usage(err)
	}
	if *dir != "" {
		cfg.Direction = strings.Split(*dir, ",")
	}
	if cfg.PhoneAddr, err = netip.ParseAddr(*phone); err != nil {
		return usage(err)
	}
	if cfg.UpstreamAddr, err = netip.ParseAddr(*up); err != nil {
		return usage(err)
	}
	if *pidfile != "" {
		b, err := os.ReadFile(*pidfile)
		if err != nil {
			return usage(err)
		}
		if cfg.PID, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return usage(fmt.Errorf("pidfile %s: %w", *pidfile, err))
		}
	}
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return usage(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return usage(err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, cfg)
	if res != nil {
		load.WriteTable(os.Stdout, []*load.Result{res})
		if *jsonOut != "" {
			if werr := writeJSON(*jsonOut, res); werr != nil {
				fmt.Fprintln(os.Stderr, "srtpgw-load:", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "srtpgw-load:", err)
		return 1
	}
	if *assert {
		if ok, why := res.Clean(); !ok {
			fmt.Fprintln(os.Stderr, "srtpgw-load: assert-no-loss failed:", why)
			return 1
		}
	}
	return 0
}

// report renders saved JSON results: `report [-md] FILE...`.
func report(args []string) int {
	fs := flag.NewFlagSet("srtpgw-load report", flag.ContinueOnError)
	md := fs.Bool("md", false, "Markdown instead of a terminal table")
	cmp := fs.Bool("compare", false, "only the per-step comparison against the first file")
	floor := fs.Bool("floor", false, "bench/floor.sh's rounds: forwarder-poller, forwarder-srtp and srtpgw per round, ratios and medians (Markdown)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var results []*load.Result
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "srtpgw-load report:", err)
			return 1
		}
		var r load.Result
		if err := json.Unmarshal(b, &r); err != nil {
			fmt.Fprintf(os.Stderr, "srtpgw-load report: %s: %v\n", f, err)
			return 1
		}
		results = append(results, &r)
	}
	switch {
	case *floor:
		if err := load.WriteFloor(os.Stdout, results); err != nil {
			fmt.Fprintln(os.Stderr, "srtpgw-load report:", err)
			return 1
		}
	case *cmp:
		load.WriteComparison(os.Stdout, results)
	case *md:
		load.WriteMarkdown(os.Stdout, results)
	default:
		load.WriteTable(os.Stdout, results)
	}
	return 0
}

// ping waits until an ng server answers: `ping -ng ADDR -wait 10s`.
func ping(args []string) int {
	fs := flag.NewFlagSet("srtpgw-load ping", flag.ContinueOnError)
	ng := fs.String("ng", "127.0.0.1:2223", "ng `ADDR:PORT`")
	wait := fs.Duration("wait", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := load.DialNG(*ng)
	if err != nil {
		return usage(err)
	}
	defer c.Close()
	c.Timeout, c.Retries = 200*time.Millisecond, max(1, int(*wait/(200*time.Millisecond)))
	if _, err := c.Do(context.Background(), map[string]any{"command": "ping"}); err != nil {
		fmt.Fprintln(os.Stderr, "srtpgw-load ping:", err)
		return 1
	}
	return 0
}

func writeJSON(path string, res *load.Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("bad number %q in %q", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func usage(err error) int {
	fmt.Fprintln(os.Stderr, "srtpgw-load:", err)
	return 2
}
