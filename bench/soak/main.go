// Command soak runs srtpgw under churning calls for a long time and checks
// that it leaks nothing: no packet of a live call lost, and once every call
// has ended and the port quarantine has passed, goroutines, open fds and
// heap back within a small margin of where they started. It writes the
// curve as markdown for bench/RESULTS.md.
//
//	go run ./bench/soak                                  # the 10-minute soak, 300 calls
//	go run ./bench/soak -duration 60s -calls 100 -settle-cache=false   # the CI version (ci.sh)
//
// It builds ./cmd/srtpgw unless -bin is given, runs it on loopback only
// (ng, HTTP and media on 127.0.0.1; phones on 127.0.1.1, upstreams on
// 127.0.2.1), and exits 0 on PASS, 1 on FAIL, 2 on a usage or setup error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "srtpgw `BINARY` to soak (default: go build ./cmd/srtpgw of this module)")
	fs.IntVar(&cfg.Calls, "calls", cfg.Calls, "concurrent calls kept up")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "churn time")
	fs.DurationVar(&cfg.MinLife, "min-life", cfg.MinLife, "shortest call")
	fs.DurationVar(&cfg.MaxLife, "max-life", cfg.MaxLife, "longest call")
	fs.DurationVar(&cfg.Sample, "sample", cfg.Sample, "sampling interval")
	fs.IntVar(&cfg.SetupConcurrency, "setup-concurrency", cfg.SetupConcurrency, "calls set up at once")
	fs.BoolVar(&cfg.SettleCache, "settle-cache", cfg.SettleCache, "after the churn, wait 2 x 60 s for the ng reply cache to empty before the final sample (else its entries are allowed for in the heap margin)")
	fs.IntVar(&cfg.Margins.Goroutines, "margin-goroutines", cfg.Margins.Goroutines, "goroutines allowed above the baseline at the end")
	fs.IntVar(&cfg.Margins.FDs, "margin-fds", cfg.Margins.FDs, "open fds allowed above the baseline at the end")
	heapMiB := fs.Float64("margin-heap-mib", cfg.Margins.HeapBytes/(1<<20), "heap (MiB) allowed above the baseline at the end")
	phone := fs.String("phone-addr", cfg.PhoneAddr.String(), "loopback `IP` of the simulated phones")
	up := fs.String("upstream-addr", cfg.UpstreamAddr.String(), "loopback `IP` of the simulated upstreams")
	portMin := fs.Int("port-min", 30000, "srtpgw --port-min")
	portMax := fs.Int("port-max", 33999, "srtpgw --port-max")
	mdOut := fs.String("md", "", "write the markdown report to `FILE` (e.g. bench/soak/SOAK.md)")
	jsonOut := fs.String("json", "", "write the result as JSON to `FILE`")
	keep := fs.Bool("keep", false, "keep the temp dir (binary, call log)")
	render := fs.String("render", "", "do not run: write the report of a result saved with -json to -md (or stdout)")
	notes := fs.String("notes", "", "append this markdown `FILE` to the report as its Notes section")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.Margins.HeapBytes = *heapMiB * (1 << 20)
	if *render != "" {
		return renderSaved(*render, *notes, *mdOut, stdout, stderr)
	}
	var err error
	if cfg.PhoneAddr, err = netip.ParseAddr(*phone); err != nil {
		return usage(stderr, err)
	}
	if cfg.UpstreamAddr, err = netip.ParseAddr(*up); err != nil {
		return usage(stderr, err)
	}
	if err := cfg.Validate(); err != nil {
		return usage(stderr, err)
	}
	dir, err := os.MkdirTemp("", "srtpgw-soak-")
	if err != nil {
		return usage(stderr, err)
	}
	if *keep {
		fmt.Fprintf(stderr, "soak: keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if *bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return usage(stderr, err)
		}
		if *bin, err = BuildSrtpgw(root, dir); err != nil {
			return usage(stderr, err)
		}
	}
	logDir := filepath.Join(dir, "state")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		return usage(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, cfg, DaemonConfig{Bin: *bin, Dir: logDir, PortMin: *portMin, PortMax: *portMax,
		Interface: "127.0.0.1"}, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	res.Command = "go run ./bench/soak " + strings.Join(args, " ")
	if *notes != "" {
		b, err := os.ReadFile(*notes)
		if err != nil {
			return usage(stderr, err)
		}
		res.Notes = string(b)
	}
	if out, err := exec.Command(*bin, "version").Output(); err == nil {
		res.Version = strings.TrimSpace(string(out))
	}
	if *mdOut != "" {
		f, err := os.Create(*mdOut)
		if err != nil {
			return usage(stderr, err)
		}
		WriteMarkdown(f, res)
		if err := f.Close(); err != nil {
			return usage(stderr, err)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return usage(stderr, err)
		}
	}
	for _, c := range res.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(stdout, "%s %s: %s\n", mark, c.Name, c.Detail)
	}
	if !res.Pass {
		fmt.Fprintln(stdout, "soak: FAIL")
		return 1
	}
	fmt.Fprintln(stdout, "soak: PASS")
	return 0
}

// renderSaved writes the markdown report of a result saved with -json,
// with notes (a markdown file) if given.
func renderSaved(jsonPath, notes, mdOut string, stdout, stderr io.Writer) int {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return usage(stderr, err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return usage(stderr, fmt.Errorf("%s: %w", jsonPath, err))
	}
	if notes != "" {
		n, err := os.ReadFile(notes)
		if err != nil {
			return usage(stderr, err)
		}
		res.Notes = string(n)
	}
	w := stdout
	if mdOut != "" {
		f, err := os.Create(mdOut)
		if err != nil {
			return usage(stderr, err)
		}
		defer f.Close()
		w = f
	}
	WriteMarkdown(w, &res)
	return 0
}

func usage(w io.Writer, err error) int {
	fmt.Fprintln(w, "soak:", err)
	return 2
}

// moduleRoot is the directory of the srtpgw go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the srtpgw module: run from the repository or give -bin")
	}
	return filepath.Dir(mod), nil
}
