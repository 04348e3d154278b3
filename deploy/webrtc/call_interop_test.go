//go:build interop

package webrtc

// One call from a legacy phone (plain RTP/AVP PCMU on 127.0.0.10) to a
// WebRTC peer through the relay, driven over ng the way Kamailio's
// rtpengine module would:
//
//	offer  (phone SDP)  -> relay SDP with ICE, DTLS actpass, rtcp-mux, mid -> the peer
//	answer (peer SDP)   -> relay SDP, plain RTP/AVP, no ICE              -> the phone
//
// then 1 kHz from the phone and 440 Hz from the peer, query, delete.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
	"github.com/srtpgw/srtpgw/relay/sim"
)

// The phone sends 1 kHz, the WebRTC peer 440 Hz: each side must hear the
// other's tone, which a loop back cannot fake.
const (
	phoneToneHz = 1000.0
	peerToneHz  = 440.0
)

// peerReport is what a WebRTC peer measured; the page and the Python
// script write the same JSON field names.
type peerReport struct {
	Peer            string   `json:"peer"`
	PacketsReceived int64    `json:"packetsReceived"`
	BytesReceived   int64    `json:"bytesReceived"`
	PacketsSent     int64    `json:"packetsSent"`
	Codec           string   `json:"codec"`
	ExpectHz        float64  `json:"expectHz"`
	DominantHz      float64  `json:"dominantHz"`
	ToneFraction    float64  `json:"toneFraction"` // share of analysis windows where ExpectHz dominates
	RMSdBFS         float64  `json:"rmsDbfs"`
	Seconds         float64  `json:"seconds"` // how long the peer listened
	ICEConnectedMs  float64  `json:"iceConnectedMs"`
	DTLSConnectedMs float64  `json:"dtlsConnectedMs"` // both from setRemoteDescription(offer)
	ICERole         string   `json:"iceRole"`
	DTLSRole        string   `json:"dtlsRole"`
	DTLSState       string   `json:"dtlsState"`
	TLSVersion      string   `json:"tlsVersion"`
	DTLSCipher      string   `json:"dtlsCipher"`
	SRTPCipher      string   `json:"srtpCipher"`
	LocalCandidate  string   `json:"localCandidate"`
	RemoteCandidate string   `json:"remoteCandidate"`
	Errors          []string `json:"errors"`

	// Diagnostics one peer or the other can give.
	PacketsLost          int64   `json:"packetsLost,omitempty"`          // Chromium
	ConcealedSamples     int64   `json:"concealedSamples,omitempty"`     // Chromium
	TotalSamplesReceived int64   `json:"totalSamplesReceived,omitempty"` // Chromium
	FramesReceived       int64   `json:"framesReceived,omitempty"`       // aiortc, decoded frames
	FramesInWindow       int64   `json:"framesInWindow,omitempty"`       // aiortc, while listening
	FirstFrameMs         float64 `json:"firstFrameMs,omitempty"`         // aiortc
}

// webrtcPeer is Chromium or aiortc.
type webrtcPeer interface {
	// answer hands the relay's offer to the peer and returns its complete
	// answer (all candidates gathered: the harness does no trickle ICE).
	answer(ctx context.Context, offer string) (string, error)
	// report waits until the peer has listened and measured.
	report(ctx context.Context) (peerReport, error)
}

type callOpts struct {
	extraFlags []string                          // appended to the offer's flags
	checkOffer func(t *testing.T, offer sdpInfo) // what this peer needs from the relay's SDP
}

type callResult struct {
	offer, answer, phoneSDP sdpInfo
	report                  peerReport
	query, deleted          callStats
	fromTag, toTag          string
}

func randID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func writeArtefact(t *testing.T, dir, name string, data []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Error(err)
	}
}

// runCall places the call and checks everything that does not depend on
// which WebRTC stack answered.
func runCall(ctx context.Context, t *testing.T, dir string, relay *interop.Relay, p webrtcPeer, opts callOpts) callResult {
	t.Helper()
	res := callResult{fromTag: randID("phone-"), toTag: randID("peer-")}
	callID := randID("webrtc-interop-")
	ng, err := relay.DialNG()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		writeArtefact(t, dir, "ng.log", []byte(ng.Log()+"\n"))
		if t.Failed() {
			t.Logf("---- ng transcript ----\n%s", ng.Log())
		}
		ng.Close()
	})
	var phone *sim.Phone
	err = relay.Do(func() (err error) { phone, err = sim.NewPhone(netip.MustParseAddr(phoneIP)); return err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(phone.Close)

	// 1. offer: the phone's RTP/AVP SDP with the WebRTC flags (brief;
	// ng-protocol.md b.6). rtpengine's WebRTC alias would also add
	// trickle-ICE and no-rtcp-attribute; the harness sends complete SDPs.
	flags := append([]string{"generate-mid"}, opts.extraFlags...)
	reply, err := ng.Command(ctx, interop.NewDict(
		"command", "offer", "call-id", callID, "from-tag", res.fromTag,
		"sdp", string(phone.OfferSDP(1)),
		"transport-protocol", "UDP/TLS/RTP/SAVPF", "ICE", "force",
		"rtcp-mux", []string{"offer", "require"}, "SDES", []string{"off"},
		"flags", flags, "direction", []string{"lan", "wan"},
		"received-from", []string{"IP4", phoneIP},
	))
	if err != nil {
		t.Fatalf("ng offer with ICE=force refused by %s: %v", relay.Kind, err)
	}
	offer := string(reply.Get("sdp").Str)
	writeArtefact(t, dir, "relay-offer.sdp", []byte(offer))
	res.offer = parseSDP(offer)
	t.Logf("relay offer: %s", res.offer.summary())
	checkRelayOffer(t, res.offer)
	if opts.checkOffer != nil {
		opts.checkOffer(t, res.offer)
	}
	if t.Failed() {
		t.FailNow() // a peer fed a broken offer only adds noise
	}

	// 2. the WebRTC peer answers.
	offeredAt := time.Now()
	answer, err := p.answer(ctx, offer)
	if err != nil {
		t.Fatalf("peer answer: %v", err)
	}
	writeArtefact(t, dir, "peer-answer.sdp", []byte(answer))
	res.answer = parseSDP(answer)
	t.Logf("peer answer after %v: %s", time.Since(offeredAt).Round(time.Millisecond), res.answer.summary())
	if res.answer.setup != "active" && res.answer.setup != "passive" {
		t.Errorf("peer answered a=setup:%q, want active or passive (RFC 8842 §5.3)", res.answer.setup)
	}

	// 3. answer: the peer's SDP back through the relay toward the phone.
	// In production the answer reaches the relay only after the SIP 200 OK
	// has crossed the proxy, while the peer already runs ICE and DTLS;
	// SRTPGW_WEBRTC_ANSWER_DELAY (a Go duration) reproduces that latency.
	if d, err := time.ParseDuration(os.Getenv("SRTPGW_WEBRTC_ANSWER_DELAY")); err == nil && d > 0 {
		t.Logf("experiment: ng answer delayed by %v", d)
		time.Sleep(d)
	}
	// received-from is where the SIP answer came from: the peer's host
	// (Kamailio always adds it, ng-protocol.md b.6).
	peerHost := res.answer.conn
	if peerHost == "" || peerHost == "0.0.0.0" {
		peerHost = peerIP
	}
	reply, err = ng.Command(ctx, interop.NewDict(
		"command", "answer", "call-id", callID, "from-tag", res.fromTag, "to-tag", res.toTag,
		"sdp", answer, "ICE", "remove", "rtcp-mux", []string{"demux"},
		"received-from", []string{"IP4", peerHost},
	))
	if err != nil {
		t.Fatalf("ng answer: %v", err)
	}
	phoneSDP := reply.Get("sdp").Str
	writeArtefact(t, dir, "relay-answer-to-phone.sdp", phoneSDP)
	res.phoneSDP = parseSDP(string(phoneSDP))
	t.Logf("relay answer to phone: %s", res.phoneSDP.summary())
	checkPhoneAnswer(t, res.phoneSDP)
	if err := phone.SetRemote(phoneSDP); err != nil {
		t.Fatalf("phone cannot read the relay's answer: %v", err)
	}

	// 4. the phone talks until the peer has listened (its ~5 s start when
	// ICE and DTLS are up), bounded by ctx.
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		tone := &interop.ToneSource{Freq: phoneToneHz, Amp: 10000}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			select {
			case <-stop:
				sent <- n
				return
			case <-tick.C:
				if _, err := phone.SendRTP(tone.Next()); err == nil {
					n++
				}
			}
		}
	}()
	rep, repErr := p.report(ctx)
	time.Sleep(200 * time.Millisecond) // the last packets in flight
	close(stop)
	phoneSent := <-sent
	if repErr != nil {
		t.Fatalf("peer report: %v", repErr)
	}
	res.report = rep
	if b, err := json.MarshalIndent(rep, "", "  "); err == nil {
		writeArtefact(t, dir, "peer-report.json", b)
		t.Logf("peer report: %s", b)
	}

	// 5. query and delete: each leg counted the packets its party sent.
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	q, err := ng.Command(qctx, interop.NewDict("command", "query", "call-id", callID, "from-tag", res.fromTag))
	if err != nil {
		t.Errorf("ng query: %v", err)
	}
	res.query = readCallStats(q)
	d, err := ng.Command(qctx, interop.NewDict("command", "delete", "call-id", callID, "from-tag", res.fromTag))
	if err != nil {
		t.Errorf("ng delete: %v", err)
	}
	res.deleted = readCallStats(d)
	t.Logf("query: %v", res.query)
	t.Logf("delete: %v", res.deleted)
	for _, c := range []struct {
		name string
		cs   callStats
	}{{"query", res.query}, {"delete", res.deleted}} {
		if c.cs.legs[res.fromTag].packets == 0 || c.cs.legs[res.toTag].packets == 0 {
			t.Errorf("%s: packets from phone %d, from peer %d: want both non-zero",
				c.name, c.cs.legs[res.fromTag].packets, c.cs.legs[res.toTag].packets)
		}
		if c.cs.rtpPackets == 0 {
			t.Errorf("%s: totals.RTP.packets = 0", c.name)
		}
	}

	checkPeerHeard(t, rep)
	checkPhoneHeard(t, phone, phoneSent)
	return res
}

// checkRelayOffer: what any WebRTC stack needs from the relay's offer.
func checkRelayOffer(t *testing.T, s sdpInfo) {
	t.Helper()
	if s.proto != "UDP/TLS/RTP/SAVPF" {
		t.Errorf("offer m= protocol %q, want UDP/TLS/RTP/SAVPF (RFC 5764 §8)", s.proto)
	}
	if s.ufrag == "" || len(s.pwd) < 22 {
		t.Errorf("offer ice-ufrag %q, ice-pwd %d chars: want both, pwd >= 22 chars (RFC 8839 §5.4)", s.ufrag, len(s.pwd))
	}
	found := false
	for _, c := range s.candidates {
		found = found || (c.addr == relayWAN && c.port == s.port && c.component == 1 && c.transport == "UDP")
	}
	if !found {
		t.Errorf("offer has no UDP host candidate %s:%d component 1: %v", relayWAN, s.port, s.candidates)
	}
	if s.setup != "actpass" {
		t.Errorf("offer a=setup:%q, want actpass (RFC 8842 §5.2)", s.setup)
	}
	if h := s.fingerprintHash(); h != "sha-256" {
		t.Errorf("offer fingerprint hash %q, want sha-256", h)
	}
	if !s.rtcpMux {
		t.Error("offer lacks a=rtcp-mux, which browsers require (RFC 8829 §4.1.1 rtcpMuxPolicy require)")
	}
	if s.mid == "" {
		t.Error("offer lacks a=mid (generate-mid; RFC 8843 §7.1 / JSEP)")
	}
	if s.crypto {
		t.Error("offer carries a=crypto (SDES) on the DTLS leg")
	}
	if s.conn != relayWAN {
		t.Errorf("offer c= %q, want the wan interface %s", s.conn, relayWAN)
	}
}

// checkPhoneAnswer: the phone gets plain RTP/AVP from the lan interface,
// without anything WebRTC.
func checkPhoneAnswer(t *testing.T, s sdpInfo) {
	t.Helper()
	if s.proto != "RTP/AVP" || s.conn != relayLAN {
		t.Errorf("answer to phone: %s c=%s, want RTP/AVP c=%s", s.proto, s.conn, relayLAN)
	}
	if s.ufrag != "" || len(s.candidates) != 0 || s.fingerprint != "" || s.setup != "" || s.crypto {
		t.Errorf("answer to phone still carries ICE/DTLS/SDES attributes: %s", s.summary())
	}
}

// checkPeerHeard: the peer received the phone's 1 kHz tone for most of
// its listening time.
func checkPeerHeard(t *testing.T, r peerReport) {
	t.Helper()
	for _, e := range r.Errors {
		t.Errorf("peer reported: %s", e)
	}
	minPkts := int64(r.Seconds * 50 * 0.6) // 50 packets/s, 60% of the window
	if minPkts < 100 {
		minPkts = 100
	}
	if r.PacketsReceived < minPkts {
		t.Errorf("peer received %d RTP packets in %.1f s, want >= %d", r.PacketsReceived, r.Seconds, minPkts)
	}
	if math.Abs(r.DominantHz-phoneToneHz) > 30 {
		t.Errorf("peer heard a dominant %.0f Hz, want the phone's %.0f Hz", r.DominantHz, phoneToneHz)
	}
	if r.ToneFraction < 0.6 {
		t.Errorf("the %.0f Hz tone dominated only %.0f%% of the peer's analysis windows, want >= 60%%", phoneToneHz, 100*r.ToneFraction)
	}
	if r.RMSdBFS < -30 {
		t.Errorf("peer heard %.1f dBFS, want louder than -30 dBFS (sent at about -13)", r.RMSdBFS)
	}
}

// checkPhoneHeard: plain PCMU from the relay's lan address carrying the
// peer's 440 Hz tone for at least 3 s.
func checkPhoneHeard(t *testing.T, phone *sim.Phone, sent int) {
	t.Helper()
	rtp, _ := phone.Received()
	var pkts [][]byte
	from := map[string]int{}
	for _, p := range rtp {
		from[p.From.String()]++
		if p.From.Addr().String() == relayLAN {
			pkts = append(pkts, p.Data)
		}
	}
	samples, n := interop.DecodePCMU(pkts)
	st := interop.AnalyseTone(samples, interop.SampleRate, peerToneHz, phoneToneHz)
	dominant := interop.DominantHz(samples, interop.SampleRate)
	t.Logf("phone sent %d packets; received %d RTP datagrams from %v, %d PCMU: %.1f s, %d of %d 20 ms blocks carry %.0f Hz, dominant %.0f Hz, rms %.0f; %v",
		sent, len(rtp), from, n, float64(len(samples))/interop.SampleRate, st.ToneBlocks, st.Blocks, peerToneHz, dominant, st.RMS, readSeqGaps(pkts))
	if min := 150; st.ToneBlocks < min { // 3 s
		t.Errorf("phone: only %d blocks with the peer's %.0f Hz tone, want >= %d", st.ToneBlocks, peerToneHz, min)
	}
	if math.Abs(dominant-peerToneHz) > 20 {
		t.Errorf("phone: dominant frequency %.0f Hz, want %.0f Hz", dominant, peerToneHz)
	}
}

// logRelayEvidence prints the relay's ICE/DTLS log lines (what a reader
// needs to see how the handshake went) and returns them.
func logRelayEvidence(t *testing.T, r *interop.Relay) []string {
	t.Helper()
	var subs []string
	switch r.Kind {
	case "rtpengine":
		subs = []string{"ICE completed", "ICE negotiated", "ICE restart", "DTLS", "SRTP", "learned", "Confirmed peer", "nominat", "ICE failed"}
	default:
		subs = []string{"ICE", "STUN", "stun", "DTLS", "dtls", "handshake", "level=ERROR", "level=WARN", "call ended"}
	}
	var lines []string
	for _, l := range r.Proc.GrepLog(subs...) {
		// Skip the ng message dumps: they mention ICE in every request.
		if !strings.Contains(l, "dump for") && !strings.Contains(l, "Response dump") && !strings.Contains(l, `dump="`) {
			lines = append(lines, l)
		}
	}
	if len(lines) > 40 {
		lines = append(lines[:40], fmt.Sprintf("... %d more", len(lines)-40))
	}
	t.Logf("%s ICE/DTLS log lines:\n  %s", r.Kind, strings.Join(lines, "\n  "))
	return lines
}

// logSummary prints the one line the README's results table is read from,
// then the relay's ICE/DTLS evidence.
func logSummary(t *testing.T, peer string, relay *interop.Relay, res callResult, start time.Time) {
	t.Helper()
	r := res.report
	suites := res.query.legs[res.toTag].suites
	t.Logf("SUMMARY %s vs %s: relay %s; %s ICE %s, DTLS %s (%s, %s), SRTP %s (relay says %v); ICE up %.0f ms, DTLS up %.0f ms after setRemoteDescription; pair %s -> %s; heard %.0f Hz at %.1f dBFS (%d packets); total %v",
		peer, relay.Kind, iceKind(res.offer), peer, r.ICERole, r.DTLSRole, r.TLSVersion, r.DTLSCipher, r.SRTPCipher, suites,
		r.ICEConnectedMs, r.DTLSConnectedMs, r.LocalCandidate, r.RemoteCandidate, r.DominantHz, r.RMSdBFS, r.PacketsReceived,
		time.Since(start).Round(time.Millisecond))
	logRelayEvidence(t, relay)
}

// iceKind describes the relay's ICE implementation as its offer shows it.
func iceKind(s sdpInfo) string {
	if s.iceLite {
		return fmt.Sprintf("ICE-lite, %d candidate(s)", len(s.candidates))
	}
	return fmt.Sprintf("full ICE, %d candidate(s)", len(s.candidates))
}
