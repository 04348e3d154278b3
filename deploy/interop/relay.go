package interop

// The relay under test, chosen by SRTPGW_INTEROP_RELAY: "srtpgw" (default;
// built from ./cmd/srtpgw) or "rtpengine" (Debian rtpengine-daemon,
// userspace only, the reference the harnesses were validated against). Both
// get the same two interfaces, lan (phone side) and wan (upstream side), a
// media port range and an ng socket on a free loopback port.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RelayEnv names the variable that selects the relay.
const RelayEnv = "SRTPGW_INTEROP_RELAY"

// RelayKind returns the relay SRTPGW_INTEROP_RELAY selects.
func RelayKind() (string, error) {
	switch k := os.Getenv(RelayEnv); k {
	case "":
		return "srtpgw", nil
	case "srtpgw", "rtpengine":
		return k, nil
	default:
		return "", fmt.Errorf("%s=%q: want srtpgw or rtpengine", RelayEnv, k)
	}
}

// RelayConfig is what differs between the harnesses.
type RelayConfig struct {
	LAN, WAN         string   // interface addresses: phone side, upstream side
	PortMin, PortMax int      // media ports
	RTPengineArgs    []string // appended to rtpengine's command line (extra log levels)
	// MaxSessions, when > 0, caps concurrent calls (--max-sessions in
	// both relays); the next offer gets `load limit` or
	// `Parallel session limit reached`.
	MaxSessions int
	NS          Namespace
	// PingTimeout bounds the wait for the first ng pong; 0 leaves it to ctx.
	PingTimeout time.Duration
}

// Relay is a started relay that has answered an ng ping.
type Relay struct {
	Kind string // "srtpgw" or "rtpengine"
	NG   string // ng address, 127.0.0.1:port
	Proc *Proc
	NS   Namespace // where it runs; nil: the host namespace
}

// StartRelay starts the selected relay in dir (its log there as srtpgw.log
// or rtpengine.log) and waits for an ng pong.
func StartRelay(ctx context.Context, t testing.TB, dir string, c RelayConfig) *Relay {
	t.Helper()
	kind, err := RelayKind()
	if err != nil {
		t.Fatal(err)
	}
	var port int
	if err := inNS(c.NS, func() (err error) { port, err = FreeUDPPort("127.0.0.1"); return err }); err != nil {
		t.Fatal(err)
	}
	r := &Relay{Kind: kind, NG: fmt.Sprintf("127.0.0.1:%d", port), NS: c.NS}
	opts := ProcOpts{NS: c.NS}
	switch kind {
	case "rtpengine":
		args, err := rtpengineArgs(c, r.NG)
		if err != nil {
			t.Fatal(err)
		}
		r.Proc = StartProc(t, dir, "rtpengine", opts, "rtpengine", args...)
	case "srtpgw":
		bin := buildSrtpgw(ctx, t, dir)
		r.Proc = StartProc(t, dir, "srtpgw", opts, bin, srtpgwArgs(c, r.NG, dir)...)
	}
	ng, err := r.DialNG()
	if err != nil {
		t.Fatal(err)
	}
	defer ng.Close()
	ng.Resend = 100 * time.Millisecond
	pingCtx := ctx
	if c.PingTimeout > 0 {
		var cancel context.CancelFunc
		pingCtx, cancel = context.WithTimeout(ctx, c.PingTimeout)
		defer cancel()
	}
	if _, err := ng.Command(pingCtx, NewDict("command", "ping")); err != nil {
		t.Fatalf("%s does not answer ng ping on %s: %v", r.Kind, r.NG, err)
	}
	t.Logf("relay %s answers ng on %s", r.Kind, r.NG)
	return r
}

// rtpengineArgs is rtpengine's command line. --config-file=none ignores
// /etc/rtpengine/rtpengine.conf; control=7 dumps every ng message and SDP.
// crypto and srtp stay at 6, and c.RTPengineArgs may not change them: their
// debug level prints DTLS private keys and SRTP master keys, which must not
// land in test logs.
func rtpengineArgs(c RelayConfig, ng string) ([]string, error) {
	for _, a := range c.RTPengineArgs {
		if strings.HasPrefix(a, "--log-level-crypto") || strings.HasPrefix(a, "--log-level-srtp") {
			return nil, fmt.Errorf("rtpengine %s: crypto and srtp log levels stay at 6 (key material)", a)
		}
	}
	return append([]string{"--config-file=none", "--foreground", "--log-stderr", "--table=-1",
		"--interface=lan/" + c.LAN, "--interface=wan/" + c.WAN, "--listen-ng=" + ng,
		"--port-min=" + strconv.Itoa(c.PortMin), "--port-max=" + strconv.Itoa(c.PortMax),
		"--log-level=6", "--log-level-control=7", "--log-level-crypto=6", "--log-level-srtp=6"},
		append(maxSessions("--max-sessions=", c), c.RTPengineArgs...)...), nil
}

// srtpgwArgs is srtpgw's command line: no HTTP listener, the audit log in
// dir, debug logging (keys never reach srtpgw's log, DESIGN.md §4).
func srtpgwArgs(c RelayConfig, ng, dir string) []string {
	args := []string{"--interface", "lan/" + c.LAN, "--interface", "wan/" + c.WAN,
		"--listen-ng", ng, "--port-min", strconv.Itoa(c.PortMin), "--port-max", strconv.Itoa(c.PortMax),
		"--listen-http", "", "--audit-log", filepath.Join(dir, "audit.jsonl"), "--log-level", "debug"}
	return append(args, maxSessions("--max-sessions", c)...)
}

// maxSessions is the session-limit argument in the relay's syntax (flag
// "--max-sessions=" for rtpengine, "--max-sessions" then the value for
// srtpgw), or nothing when c sets no limit.
func maxSessions(flag string, c RelayConfig) []string {
	if c.MaxSessions <= 0 {
		return nil
	}
	if strings.HasSuffix(flag, "=") {
		return []string{flag + strconv.Itoa(c.MaxSessions)}
	}
	return []string{flag, strconv.Itoa(c.MaxSessions)}
}

// buildSrtpgw builds ./cmd/srtpgw into dir and returns the binary's path.
func buildSrtpgw(ctx context.Context, t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "srtpgw")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin, "./cmd/srtpgw")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/srtpgw: %v\n%s", err, out)
	}
	return bin
}

// Do runs fn in the relay's network namespace, for sockets that must reach
// it (the ng client, a simulated phone).
func (r *Relay) Do(fn func() error) error { return inNS(r.NS, fn) }

// DialNG opens an ng client socket in the relay's namespace.
func (r *Relay) DialNG() (c *NGClient, err error) {
	err = r.Do(func() error { c, err = DialNG(r.NG); return err })
	return c, err
}
