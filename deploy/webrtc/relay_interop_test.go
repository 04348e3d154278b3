//go:build interop

package webrtc

// The relay under test, chosen by SRTPGW_INTEROP_RELAY exactly as in
// deploy/kamailio (interop.StartRelay): "srtpgw" (default; built from
// ./cmd/srtpgw) or "rtpengine" (Debian rtpengine-daemon 10.5, userspace
// only, the reference the harness was validated against). Media ports
// 26000-26999 (below the ephemeral range, so a free ng port never falls
// inside), ng on a free loopback port.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

const (
	relayLAN = "127.0.0.2"  // phone side
	relayWAN = "127.0.0.3"  // WebRTC side
	phoneIP  = "127.0.0.10" // the simulated desk phone
	peerIP   = "127.0.0.20" // aiortc's host candidate
	portMin  = 26000
	portMax  = 26999
	pcapEnv  = "SRTPGW_INTEROP_PCAP" // non-empty: capture the media ports
)

// startRelay starts the selected relay in ns (nil: the host namespace)
// and waits up to 10 s for an ng pong.
func startRelay(ctx context.Context, t *testing.T, dir string, ns *netns) *interop.Relay {
	t.Helper()
	r := interop.StartRelay(ctx, t, dir, interop.RelayConfig{
		LAN: relayLAN, WAN: relayWAN, PortMin: portMin, PortMax: portMax,
		// ICE=7 logs the candidate pairs and checks.
		RTPengineArgs: []string{"--log-level-ice=7"},
		NS:            ns,
		PingTimeout:   10 * time.Second,
	})
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
	p := interop.StartProc(t, dir, "dumpcap", interop.ProcOpts{NS: ns}, "dumpcap", "-q", "-i", "lo",
		// Only the harness's own endpoints: other tests on this machine
		// use 127.0.0.3 and ports in the same range.
		"-f", fmt.Sprintf("udp portrange %d-%d and (host %s or host %s or host 127.0.0.1)", portMin, portMax, phoneIP, peerIP),
		"-w", filepath.Join(dir, "media.pcapng"))
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.WaitLog(wctx, "Capturing on"); err != nil {
		t.Fatalf("dumpcap did not start: %v: %s", err, p.LogText())
	}
}
