//go:build interop

package webrtc

// Test 2: aiortc 1.4 (Debian python3-aiortc) as the WebRTC peer. The
// script testdata/aiortc_peer.py answers the relay's offer with a 440 Hz
// track, listens for 5 s once ICE and DTLS are up and writes JSON stats.
//
//	SRTPGW_INTEROP_RELAY=rtpengine go test -tags interop -count=1 -v -run TestAiortcInterop ./deploy/webrtc/

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

// debianPython is Debian's interpreter: python3-aiortc lives in its
// dist-packages, which a pyenv python3 earlier on PATH does not see.
const debianPython = "/usr/bin/python3"

type aiortcPeer struct {
	t                   *testing.T
	dir                 string
	answerPath, resPath string
	proc                *interop.Proc
}

func (a *aiortcPeer) answer(ctx context.Context, offer string) (string, error) {
	script, err := filepath.Abs("testdata/aiortc_peer.py")
	if err != nil {
		return "", err
	}
	offerPath := filepath.Join(a.dir, "aiortc-offer.sdp")
	if err := os.WriteFile(offerPath, []byte(offer), 0o644); err != nil {
		return "", err
	}
	a.answerPath = filepath.Join(a.dir, "aiortc-answer.sdp")
	a.resPath = filepath.Join(a.dir, "aiortc-result.json")
	a.proc = interop.StartProc(a.t, a.dir, "aiortc", interop.ProcOpts{Env: []string{"PYTHONUNBUFFERED=1", "PYTHONNOUSERSITE=1", "PYTHONDONTWRITEBYTECODE=1"}},
		debianPython, script, "--offer", offerPath, "--answer", a.answerPath, "--result", a.resPath,
		"--ip", peerIP, "--send-hz", fmt.Sprint(peerToneHz), "--expect-hz", fmt.Sprint(phoneToneHz),
		"--seconds", "5", "--connect-timeout", "15", "--timeout", "40")
	b, err := a.waitFile(ctx, a.answerPath, 15*time.Second)
	return string(b), err
}

func (a *aiortcPeer) report(ctx context.Context) (peerReport, error) {
	var r peerReport
	b, err := a.waitFile(ctx, a.resPath, 30*time.Second)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("aiortc result %s: %w", a.resPath, err)
	}
	return r, nil
}

// waitFile polls for a file the script writes atomically (rename), and
// gives up when the script has exited without writing it.
func (a *aiortcPeer) waitFile(ctx context.Context, path string, limit time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if b, err := os.ReadFile(path); err == nil {
			return b, nil
		}
		if a.proc.Exited() {
			if b, err := os.ReadFile(path); err == nil {
				return b, nil
			}
			return nil, fmt.Errorf("aiortc exited (%v) without writing %s", a.proc.Err(), filepath.Base(path))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("aiortc: waiting for %s: %w", filepath.Base(path), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestAiortcInterop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s missing (apt-get install python3-aiortc): %v", debianPython, err)
	}
	dir := interop.WorkDir(t)
	// aiortc binds only 127.0.0.20 (see aiortc_peer.py), so it needs no
	// namespace of its own.
	relay := startRelay(ctx, t, dir, nil)
	peer := &aiortcPeer{t: t, dir: dir}
	res := runCall(ctx, t, dir, relay, peer, callOpts{
		// rtpengine writes "a=rtcp:PORT" unless asked for the full form,
		// and aiortc 1.4's SDP parser (sdp.py: value.split(" ", 1))
		// raises on the short form. srtpgw always writes the full form.
		extraFlags: []string{"full-rtcp-attribute"},
		checkOffer: func(t *testing.T, s sdpInfo) {
			if s.rtcpForm() == "short" {
				t.Errorf("offer has the short form a=rtcp:%s, which aiortc 1.4 cannot parse; want a=rtcp:PORT IN IP4 ADDR (RFC 3605 §2.1)", s.rtcp)
			}
		},
	})
	r := res.report
	// aiortc answers a=setup:active and offers only the CM profile
	// (rtcdtlstransport.py: set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")).
	if res.answer.setup != "active" || r.DTLSRole != "client" {
		t.Errorf("aiortc answered setup:%s with DTLS role %q, want active/client", res.answer.setup, r.DTLSRole)
	}
	if r.SRTPCipher != "SRTP_AES128_CM_SHA1_80" {
		t.Errorf("aiortc negotiated SRTP profile %q, want SRTP_AES128_CM_SHA1_80", r.SRTPCipher)
	}
	if !strings.HasPrefix(r.LocalCandidate, peerIP+":") || !strings.HasPrefix(r.RemoteCandidate, relayWAN+":") {
		t.Errorf("aiortc selected pair %s -> %s, want %s -> %s", r.LocalCandidate, r.RemoteCandidate, peerIP, relayWAN)
	}
	logSummary(t, "aiortc", relay, res, start)
	if peer.proc != nil {
		select {
		case <-peer.proc.Done():
			var ee interface{ ExitCode() int }
			if err := peer.proc.Err(); err != nil && errors.As(err, &ee) {
				t.Errorf("aiortc_peer.py exited with %d", ee.ExitCode())
			}
		case <-time.After(5 * time.Second):
			t.Error("aiortc_peer.py still running 5 s after writing its result")
		}
	}
}
