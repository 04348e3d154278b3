//go:build interop

package kamailio

// Real-peer interop: Kamailio 5.6 (stock rtpengine module, kamailio.cfg from
// this directory) drives a relay over ng while two baresip user agents call
// each other through it: a "phone" with plain RTP on the relay's lan side and
// an "upstream" with DTLS-SRTP on its wan side.
//
//	SRTPGW_INTEROP_RELAY=rtpengine go test -tags interop -count=1 -v ./deploy/kamailio/
//
// SRTPGW_INTEROP_RELAY selects the relay: "srtpgw" (default; built from
// ./cmd/srtpgw) or "rtpengine" (Debian rtpengine-daemon, userspace only).
// SRTPGW_INTEROP_LOGDIR keeps every log, capture and recording there.
// -update rewrites testdata/ with the ng datagrams of this run.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

var update = flag.Bool("update", false, "rewrite testdata/ with the captured ng datagrams")

// Loopback topology (brief: interop.md).
const (
	phoneIP    = "127.0.0.10"
	upstreamIP = "127.0.0.20"
	relayLAN   = "127.0.0.2"
	relayWAN   = "127.0.0.3"
	mediaIP    = "127.0.0.1" // where baresip's RTP really comes from (see writeBaresipConfig)
	phoneTone  = 800.0       // Hz, sent by the phone
	upTone     = 1400.0      // Hz, sent by the upstream
	talkTime   = 5 * time.Second
	portMin    = 31000 // the relay's media ports
	portMax    = 31999
)

// callCase is one call through Kamailio and the relay.
type callCase struct {
	name        string
	fromPhone   bool // true: phone calls upstream (leaves the clinic)
	upstreamMux bool // upstream baresip accepts/offers rtcp-mux
	testdata    string
}

func TestKamailioInterop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	start := time.Now()
	for _, bin := range []string{"kamailio", "baresip", "dumpcap"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not installed (apt-get install kamailio baresip-core tshark): %v", bin, err)
		}
	}
	dir := interop.WorkDir(t)
	// The relay's readiness (ng pong) is bounded by the test's deadline only.
	relayNG := interop.StartRelay(ctx, t, dir, interop.RelayConfig{
		LAN: relayLAN, WAN: relayWAN, PortMin: portMin, PortMax: portMax,
	}).NG
	tap, err := startNGTap(relayNG)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tap.close)
	upstreamSIP := freeUDPPort(t, upstreamIP)
	kamAddr, kam := startKamailio(ctx, t, dir, []ngNode{{addr: tap.addr()}}, upstreamSIP)
	t.Logf("relay, ng tap and Kamailio ready after %v", time.Since(start).Round(time.Millisecond))

	cases := []callCase{
		{name: "phone-to-upstream/rtcp-mux", fromPhone: true, upstreamMux: true, testdata: "testdata"},
		{name: "phone-to-upstream/no-rtcp-mux", fromPhone: true, upstreamMux: false},
		{name: "upstream-to-phone", fromPhone: false, upstreamMux: true, testdata: "testdata/upstream-to-phone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runCall(ctx, t, filepath.Join(dir, strings.ReplaceAll(tc.name, "/", "_")), tc, kamAddr, upstreamSIP, tap, kam)
		})
	}
	for _, tc := range []unansweredCase{
		{name: "rejected", upstreamRejects: true, wantLog: "rtpengine delete on failure 486"},
		{name: "cancelled", upstreamRejects: false, wantLog: "rtpengine delete on failure 487"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runUnanswered(ctx, t, filepath.Join(dir, tc.name), tc, kamAddr, upstreamSIP, tap, kam)
		})
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// within bounds one step of a call, so a stuck step fails that call and
// leaves time for the others. The context is released by the overall
// deadline; a step is short enough that holding it until then is harmless.
func within(ctx context.Context, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(ctx, d)
	context.AfterFunc(c, cancel)
	return c
}

// ngNode is one relay in Kamailio's rtpengine set: its ng address and,
// when > 0, its weight (rtpengine_sock "udp:ADDR=WEIGHT").
type ngNode struct {
	addr   string
	weight int
}

// startKamailio runs kamailio.cfg in the foreground with the relay set
// (nodes) and addresses of this run, and waits until it answers OPTIONS
// and has found every relay.
func startKamailio(ctx context.Context, t *testing.T, dir string, nodes []ngNode, upstreamSIP int) (string, *interop.Proc) {
	t.Helper()
	var socks []string
	for _, n := range nodes {
		s := "udp:" + n.addr
		if n.weight > 0 {
			s += "=" + strconv.Itoa(n.weight)
		}
		socks = append(socks, s)
	}
	cfg, err := filepath.Abs("kamailio.cfg")
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t, "127.0.0.1"))
	p := interop.StartProc(t, dir, "kamailio", interop.ProcOpts{}, "kamailio", "-f", cfg, "-DD", "-E",
		"-L", "/usr/lib/x86_64-linux-gnu/kamailio/modules", "-w", dir, "-Y", dir,
		"-P", filepath.Join(dir, "kamailio.pid"), "-m", "64", "-M", "8",
		"-A", `RTPENGINE_SOCK="`+strings.Join(socks, " ")+`"`,
		"-A", "SIP_LISTEN=udp:"+addr,
		"-A", `CLINIC_NET="`+phoneIP+`/32"`,
		"-A", fmt.Sprintf(`UPSTREAM_HOSTPORT="%s:%d"`, upstreamIP, upstreamSIP),
		"-A", `UPSTREAM_IP="`+upstreamIP+`"`)
	if err := sipOptionsOK(ctx, addr); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := p.WaitLog(ctx, "rtpengine instance <udp:"+n.addr+"> found"); err != nil {
			t.Fatal(err)
		}
	}
	return addr, p
}

// sipOptionsOK sends SIP OPTIONS until a 200 comes back.
func sipOptionsOK(ctx context.Context, addr string) error {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	buf := make([]byte, 4096)
	for i := 0; ; i++ {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-probe-%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=probe\r\nTo: <sip:%s>\r\n"+
			"Call-ID: probe-%d@%s\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n",
			addr, local, i, local, addr, i, local, i+1)
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(fmt.Errorf("no SIP 200 from %s", addr), ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeUDPPort returns a currently unused UDP port on ip.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	p, err := interop.FreeUDPPort(ip)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runCall places one call, talks, hangs up and checks everything.
func runCall(ctx context.Context, t *testing.T, dir string, tc callCase, kamAddr string, upstreamSIP int, tap *ngTap, kam *interop.Proc) {
	if kam.Exited() {
		t.Fatal("kamailio has exited")
	}
	callStart := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pcapPath := filepath.Join(dir, "media.pcap")
	// Both relay interfaces and the relay's port range (other tests on this
	// machine may use the same addresses); dumpcap's default snap length
	// keeps whole packets.
	capture := interop.StartProc(t, dir, "dumpcap", interop.ProcOpts{}, "dumpcap", "-P", "-i", "lo",
		"-f", fmt.Sprintf("udp and (host %s or host %s) and portrange %d-%d", relayLAN, relayWAN, portMin, portMax), "-w", pcapPath)
	if err := capture.WaitLog(within(ctx, 5*time.Second), "Capturing on"); err != nil {
		t.Fatal(err)
	}
	captureUp := time.Since(callStart)

	up := startUA(ctx, t, filepath.Join(dir, "upstream"), uaConfig{
		name: "upstream", ip: upstreamIP, sipPort: upstreamSIP, user: "upstream", tone: upTone,
		mediaenc: "dtls_srtp", rtcpMux: tc.upstreamMux,
	})
	phone := startUA(ctx, t, filepath.Join(dir, "phone"), uaConfig{
		name: "phone", ip: phoneIP, user: "phone", tone: phoneTone, register: kamAddr,
	})
	agentsUp := time.Since(callStart)
	if err := phone.waitRegistered(within(ctx, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Logf("setup: capture %v, agents %v, phone registered %v", captureUp.Round(time.Millisecond),
		agentsUp.Round(time.Millisecond), time.Since(callStart).Round(time.Millisecond))

	caller, callee, target := phone, up, "sip:upstream@"+kamAddr
	if !tc.fromPhone {
		caller, callee, target = up, phone, "sip:phone@"+kamAddr
	}
	ngBefore := len(tap.datagrams())
	dialAt := time.Now()
	if _, err := caller.ctl.command(ctx, "dial", target); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*ua{caller, callee} {
		if _, err := u.ctl.waitEvent(within(ctx, 10*time.Second), "CALL_ESTABLISHED"); err != nil {
			t.Fatalf("%s: call not answered: %v", u.cfg.name, err)
		}
	}
	t.Logf("call established %v after dial", time.Since(dialAt).Round(time.Millisecond))
	select {
	case <-time.After(talkTime):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	hangupAt := time.Now()
	if _, err := caller.ctl.command(ctx, "hangup", ""); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*ua{caller, callee} {
		if _, err := u.ctl.waitEvent(within(ctx, 5*time.Second), "CALL_CLOSED"); err != nil {
			t.Fatalf("%s: %v", u.cfg.name, err)
		}
	}
	// Stop the agents so sndfile has closed its WAV files, then wait for
	// the ng delete (Kamailio sends it while relaying the BYE).
	closedAt := time.Now()
	for _, u := range []*ua{caller, callee} {
		_, _ = u.ctl.command(within(ctx, 2*time.Second), "quit", "")
		u.proc.Stop(syscall.SIGTERM, 3*time.Second)
	}
	ex := waitDelete(ctx, t, tap, ngBefore)
	capture.Stop(syscall.SIGINT, 3*time.Second) // dumpcap flushes and exits
	t.Logf("teardown: both agents saw CALL_CLOSED %v after hangup; everything stopped %v later",
		closedAt.Sub(hangupAt).Round(time.Millisecond), time.Since(closedAt).Round(time.Millisecond))
	t.Logf("call total %v", time.Since(callStart).Round(time.Millisecond))

	checkAudio(t, up, phone)
	checkDTLSLog(t, up, tc)
	rp := checkNG(t, ex, tc, hangupAt)
	checkMedia(t, pcapPath, rp)
	if !strings.Contains(kam.LogText(), "rtpengine delete on BYE") {
		t.Error("kamailio log has no 'rtpengine delete on BYE'")
	}
	if *update && tc.testdata != "" && !t.Failed() {
		saveTestdata(t, tc.testdata, ex)
	}
}

// waitDelete returns the ng exchanges since index from, once a delete has
// been answered.
func waitDelete(ctx context.Context, t *testing.T, tap *ngTap, from int) []*ngExchange {
	t.Helper()
	for {
		log := tap.datagrams()[from:]
		ex, bad := exchanges(log)
		if len(bad) > 0 {
			t.Errorf("%d undecodable ng datagrams, first %q", len(bad), bad[0].data)
		}
		for _, e := range ex {
			if e.command == "delete" && e.rep != nil {
				return ex
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no answered ng delete after hangup (commands seen: %v)", commandsOf(ex))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func commandsOf(ex []*ngExchange) []string {
	var out []string
	for _, e := range ex {
		out = append(out, e.command+"x"+strconv.Itoa(e.sends))
	}
	return out
}

// checkAudio: each side decoded the other side's tone for most of the call.
func checkAudio(t *testing.T, up, phone *ua) {
	t.Helper()
	for _, c := range []struct {
		u           *ua
		want, other float64
	}{{up, phoneTone, upTone}, {phone, upTone, phoneTone}} {
		s, rate, err := c.u.recording()
		if err != nil {
			t.Error(err)
			continue
		}
		st := interop.AnalyseTone(s, rate, c.want, c.other)
		t.Logf("%s received %.1f s of audio: %d of %d 20 ms blocks carry %.0f Hz, rms %.0f",
			c.u.cfg.name, float64(len(s))/float64(rate), st.ToneBlocks, st.Blocks, c.want, st.RMS)
		// At least 2 of the 5 s: when the relay is the DTLS client its
		// first ClientHello can reach baresip before baresip has the
		// answer and is ready, and the retransmission comes ~1 s later
		// (RFC 6347 s4.2.4.1), so the first 1-2 s are lost.
		if min := int(2 * time.Second / (20 * time.Millisecond)); st.ToneBlocks < min {
			t.Errorf("%s: only %d blocks with the %.0f Hz tone, want >= %d", c.u.cfg.name, st.ToneBlocks, c.want, min)
		}
	}
}

// checkDTLSLog: the upstream agent completed DTLS-SRTP with a verified
// fingerprint (RFC 5763 s5) for RTP, and for RTCP too without rtcp-mux.
func checkDTLSLog(t *testing.T, up *ua, tc callCase) {
	t.Helper()
	log := up.proc.LogText()
	want := []string{"verified sha-256 fingerprint OK", "DTLS-SRTP complete (audio/RTP)"}
	if !tc.upstreamMux {
		want = append(want, "DTLS-SRTP complete (audio/RTCP)")
	}
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Errorf("upstream baresip log lacks %q", w)
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "DTLS-SRTP complete") {
			t.Logf("upstream: %s", strings.TrimSpace(line))
		}
	}
	var menc []string
	for _, e := range up.ctl.eventList() {
		if e.Type == "CALL_MENC" {
			menc = append(menc, e.Param)
		}
	}
	if len(menc) == 0 {
		t.Error("upstream baresip sent no CALL_MENC (media encryption) event")
	}
	t.Logf("upstream CALL_MENC events: %q", menc)
}

// checkMedia reads the capture and checks both legs.
func checkMedia(t *testing.T, pcapPath string, rp relayPorts) {
	t.Helper()
	b, err := os.ReadFile(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readPcap(b)
	if err != nil {
		t.Fatal(err)
	}
	r := analyseMedia(pkts, rp, phoneTone, upTone)
	t.Logf("capture: %d UDP packets\n phone->relay %v\n relay->phone %v\n relay->upstream %v\n upstream->relay %v\n matched %d, SRTP-minus-RTP length %v",
		len(pkts), r.phoneToRelay, r.relayToPhone, r.relayToUp, r.upToRelay, r.matched, r.tagBytes)

	const minPkts = 100 // 2 s at 20 ms ptime
	// Phone leg: plain RTP carrying the tones, no DTLS.
	if r.phoneToRelay.toneRTP < minPkts || r.relayToPhone.toneRTP < minPkts {
		t.Errorf("phone leg: plain PCMU tone packets phone->relay %d, relay->phone %d, want >= %d each",
			r.phoneToRelay.toneRTP, r.relayToPhone.toneRTP, minPkts)
	}
	if n := r.phoneToRelay.kinds[kindDTLS] + r.relayToPhone.kinds[kindDTLS]; n != 0 {
		t.Errorf("phone leg carried %d DTLS packets, want plain RTP only", n)
	}
	// Upstream leg: a DTLS handshake both ways, then only SRTP/SRTCP.
	for _, d := range []struct {
		name string
		s    dirStats
	}{{"relay->upstream", r.relayToUp}, {"upstream->relay", r.upToRelay}} {
		if d.s.dtlsHS == 0 {
			t.Errorf("%s: no DTLS handshake records", d.name)
		}
		if d.s.kinds[kindRTP] < minPkts {
			t.Errorf("%s: %d SRTP packets, want >= %d", d.name, d.s.kinds[kindRTP], minPkts)
		}
		if d.s.toneRTP != 0 {
			t.Errorf("%s: %d packets decode as the plain tone", d.name, d.s.toneRTP)
		}
		if n := d.s.kinds[kindOther]; n != 0 {
			t.Errorf("%s: %d packets that are neither DTLS, STUN, SRTP nor SRTCP", d.name, n)
		}
	}
	if r.cleartextUpstream != 0 {
		t.Errorf("%d upstream-leg packets carry a payload that crossed the phone leg in clear", r.cleartextUpstream)
	}
	if r.matched < minPkts {
		t.Errorf("only %d upstream-leg packets match a phone-leg packet by SSRC+seq, want >= %d", r.matched, minPkts)
	}
	for n, c := range r.tagBytes {
		if n != 10 && n != 16 { // HMAC-SHA1-80 or AEAD GCM tag
			t.Errorf("%d SRTP packets are %d bytes longer than their plain RTP, want 10 or 16", c, n)
		}
	}
}
