// Command srtpgw is an SRTP media relay and encryption gateway: it anchors
// plain RTP from legacy phones and re-emits it upstream as DTLS-SRTP, driven
// by a SIP proxy over rtpengine's ng protocol.
//
//	srtpgw [flags]                     run the gateway
//	srtpgw demo                        one simulated call through an in-process gateway
//	srtpgw audit verify [--pubkey F] FILES...
//	srtpgw healthcheck [URL]           exit 0 if /readyz answers 200 (container probes)
//	srtpgw version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/srtpgw/srtpgw/relay/audit"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			printVersion(stdout)
			return 0
		case "demo":
			return runDemo(args[1:], stdout, stderr)
		case "audit":
			if len(args) > 1 && args[1] == "verify" {
				return audit.RunVerifyCLI(args[2:], stdout, stderr)
			}
			fmt.Fprintln(stderr, "usage: srtpgw audit verify [--pubkey FILE] FILES...")
			return 2
		case "healthcheck":
			return healthcheck(args[1:], stderr)
		case "help":
			args = []string{"-h"}
		}
	}
	cfg, log, code := loadConfig(args, stdout, stderr)
	if cfg == nil {
		return code
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	d, err := startDaemon(*cfg, log)
	if err != nil {
		log.Error("srtpgw failed to start", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	stop()
	done := make(chan struct{})
	go func() {
		d.shutdown("signal")
		close(done)
	}()
	select {
	case <-done:
		return 0
	case <-time.After(shutdownBound + cfg.ShutdownGrace):
		log.Error("shutdown did not finish in time", "bound", shutdownBound+cfg.ShutdownGrace)
		return 1
	}
}

// loadConfig parses flags and SRTPGW_* variables and validates them. A nil
// config means exit with code.
func loadConfig(args []string, stdout, stderr io.Writer) (*Config, *slog.Logger, int) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("srtpgw", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.bindFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: srtpgw [flags]\n       srtpgw demo | audit verify [--pubkey F] FILES... | healthcheck [URL] | version\n\n"+
			"Every flag can also be set as SRTPGW_<FLAG>, e.g. SRTPGW_PORT_MIN=30000.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, 0
		}
		return nil, nil, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "srtpgw: unexpected argument %q\n", fs.Arg(0))
		return nil, nil, 2
	}
	if err := applyEnv(fs, os.Getenv); err != nil {
		fmt.Fprintln(stderr, "srtpgw:", err)
		return nil, nil, 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "srtpgw: invalid configuration:\n%v\n", err)
		return nil, nil, 2
	}
	return &cfg, newLogger(cfg, stderr), 0
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// healthcheck probes /readyz from inside the container or host: distroless
// images have no curl, and Kubernetes exec probes need no network policy.
func healthcheck(args []string, stderr io.Writer) int {
	url := healthcheckURL(os.Getenv("SRTPGW_LISTEN_HTTP"))
	if len(args) > 0 {
		url = args[0]
	}
	c := http.Client{Timeout: 3 * time.Second}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	if f := os.Getenv("SRTPGW_HTTP_TOKEN_FILE"); f != "" {
		tok, err := readToken(f)
		if err != nil {
			fmt.Fprintln(stderr, "healthcheck:", err)
			return 1
		}
		req.Header.Set("Authorization", "Bearer "+string(tok))
	}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck:", resp.Status)
		return 1
	}
	return 0
}

// healthcheckURL is /readyz on the daemon's --listen-http as the
// environment gives it (the container and unit set SRTPGW_LISTEN_HTTP), so
// the probe follows the daemon wherever it listens; a wildcard listener is
// probed on loopback.
func healthcheckURL(listen string) string {
	host, port := "127.0.0.1", "9323"
	if h, p, err := net.SplitHostPort(listen); err == nil {
		port = p
		if a, err := netip.ParseAddr(h); err == nil && !a.IsUnspecified() {
			host = a.String()
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}
