//go:build interop

package webrtc

// The relay under test, chosen by SRTPGW_INTEROP_RELAY exactly as in
// deploy/kamailio: "srtpgw" (default; built from ./cmd/srtpgw) or
// "rtpengine" (Debian rtpengine-daemon 10.5, userspace only, the reference
// the harness was validated against). Media ports 26000-26999 (below the ephemeral range, so a free ng port never falls inside), ng on a free
// loopback port.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	relayLAN     = "127.0.0.2"  // phone side
	relayWAN     = "127.0.0.3"  // WebRTC side
	phoneIP      = "127.0.0.10" // the simulated desk phone
	peerIP       = "127.0.0.20" // aiortc's host candidate
	portMin      = 26000
	portMax      = 26999
	relayEnv     = "SRTPGW_INTEROP_RELAY"
	logDirEnv    = "SRTPGW_INTEROP_LOGDIR"
	pcapEnv      = "SRTPGW_INTEROP_PCAP" // non-empty: capture the media ports
	defaultRelay = "srtpgw"
)

type relayProc struct {
	kind string // "srtpgw" or "rtpengine"
	ng   string // ng address
	proc *proc
	ns   *netns // where it runs; the ng client and the phone go there too
}

func relayKind(t *testing.T) string {
	k := os.Getenv(relayEnv)
	if k == "" {
		k = defaultRelay
	}
	if k != "srtpgw" && k != "rtpengine" {
		t.Fatalf("%s=%q: want srtpgw or rtpengine", relayEnv, k)
	}
	return k
}

// workDir is a temp dir, or a kept one under SRTPGW_INTEROP_LOGDIR.
func workDir(t *testing.T) string {
	if base := os.Getenv(logDirEnv); base != "" {
		d := filepath.Join(base, time.Now().Format("20060102-150405")+"-"+t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("artefacts kept in %s", d)
		return d
	}
	return t.TempDir()
}

// startRelay starts the selected relay in ns (nil: the host namespace)
// and waits for an ng pong.
func startRelay(ctx context.Context, t *testing.T, dir string, ns *netns) *relayProc {
	t.Helper()
	var port int
	if err := ns.do(func() (err error) { port, err = freeUDPPort("127.0.0.1"); return err }); err != nil {
		t.Fatal(err)
	}
	r := &relayProc{kind: relayKind(t), ng: fmt.Sprintf("127.0.0.1:%d", port), ns: ns}
	switch r.kind {
	case "rtpengine":
		// --config-file=none ignores /etc/rtpengine/rtpengine.conf.
		// control=7 dumps every ng message and SDP; ICE=7 logs the
		// candidate pairs and checks. crypto/srtp stay at 6: their debug
		// level prints DTLS private keys and SRTP master keys.
		r.proc = startProc(t, dir, "rtpengine", procOpts{ns: ns}, "rtpengine", "--config-file=none", "--foreground",
			"--log-stderr", "--table=-1", "--interface=lan/"+relayLAN, "--interface=wan/"+relayWAN,
			"--listen-ng="+r.ng, fmt.Sprintf("--port-min=%d", portMin), fmt.Sprintf("--port-max=%d", portMax),
			"--log-level=6", "--log-level-control=7", "--log-level-ice=7", "--log-level-crypto=6", "--log-level-srtp=6")
	case "srtpgw":
		bin := filepath.Join(dir, "srtpgw")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = "/usr/local/go/bin/go"
		}
		build := exec.CommandContext(ctx, gobin, "build", "-o", bin, "./cmd/srtpgw")
		build.Dir = moduleRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/srtpgw: %v\n%s", err, out)
		}
		r.proc = startProc(t, dir, "srtpgw", procOpts{ns: ns}, bin, "--interface", "lan/"+relayLAN, "--interface", "wan/"+relayWAN,
			"--listen-ng", r.ng, "--port-min", fmt.Sprint(portMin), "--port-max", fmt.Sprint(portMax),
			"--audit-log", filepath.Join(dir, "audit.jsonl"), "--listen-http", "", "--log-level", "debug")
	}
	ng, err := r.dialNG()
	if err != nil {
		t.Fatal(err)
	}
	defer ng.close()
	ng.resend = 100 * time.Millisecond
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := ng.command(pingCtx, dict{{"command", "ping"}}); err != nil {
		t.Fatalf("%s does not answer ng ping on %s: %v", r.kind, r.ng, err)
	}
	t.Logf("relay %s answers ng on %s", r.kind, r.ng)
	if os.Getenv(pcapEnv) != "" {
		startCapture(ctx, t, dir, ns)
	}
	return r
}

// startCapture records the relay's media ports on lo (in ns) to
// media.pcapng: STUN, DTLS, SRTP and the phone's RTP, for reading with
// tshark when a step fails (Debian: tshark, which brings dumpcap).
func startCapture(ctx context.Context, t *testing.T, dir string, ns *netns) {
	t.Helper()
	p := startProc(t, dir, "dumpcap", procOpts{ns: ns}, "dumpcap", "-q", "-i", "lo",
		// Only the harness's own endpoints: other tests on this machine
		// use 127.0.0.3 and ports in the same range.
		"-f", fmt.Sprintf("udp portrange %d-%d and (host %s or host %s or host 127.0.0.1)", portMin, portMax, phoneIP, peerIP),
		"-w", filepath.Join(dir, "media.pcapng"))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.logText(), "Capturing on") {
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("dumpcap did not start: %s", p.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// moduleRoot finds the directory holding go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			t.Fatal("go.mod not found")
		}
		d = parent
	}
}

// dialNG opens an ng client socket in the relay's namespace.
func (r *relayProc) dialNG() (c *ngClient, err error) {
	err = r.ns.do(func() error { c, err = dialNG(r.ng); return err })
	return c, err
}
