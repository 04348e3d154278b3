package relay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/srtpgw/srtpgw/relay/sim"
)

// TestWebRTCUpstream bridges a plain phone to a full WebRTC endpoint
// (pion/webrtc: full ICE agent, rtcp-mux, DTLS-SRTP) with ICE=force:
// srtpgw answers its checks as ICE-lite, DTLS runs on the nominated pair,
// and audio flows both ways.
func TestWebRTCUpstream(t *testing.T) {
	for _, server := range []bool{false, true} {
		name := "peer-dtls-client"
		if server {
			name = "peer-dtls-server"
		}
		t.Run(name, func(t *testing.T) { webrtcCall(t, server) })
	}
}

func webrtcCall(t *testing.T, peerServer bool) {
	r, rec := newTestRelay(t, nil)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	phone, err := sim.NewPhone(phoneAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	peer, err := sim.NewWebRTCPeer(sim.WebRTCConfig{DTLSServer: peerServer})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	offer, err := r.Offer(ctx, &Request{CallID: "webrtc", FromTag: "ft-phone", SDP: phone.OfferSDP(1),
		FromInterface: "lan", ToInterface: "wan", Flags: Flags{WebRTC: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=ice-ufrag:", "a=ice-pwd:", "a=candidate:1 1 UDP",
		"typ host", "a=rtcp-mux", "a=mid:", "a=setup:actpass", "a=fingerprint:sha-256", "a=end-of-candidates"} {
		if !strings.Contains(string(offer), want) {
			t.Fatalf("WebRTC offer lacks %q:\n%s", want, offer)
		}
	}
	answer, err := peer.Answer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Answer(ctx, &Request{CallID: "webrtc", FromTag: "ft-phone", ToTag: "tt-browser", SDP: answer,
		ICE: ICERemove, RTCPMux: RTCPMuxDemux})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "ice-") || strings.Contains(string(out), "candidate") {
		t.Fatalf("ICE leaked to the phone:\n%s", out)
	}
	if err := phone.SetRemote(out); err != nil {
		t.Fatal(err)
	}
	if err := peer.WaitConnected(ctx); err != nil {
		r.mu.Lock()
		us := r.calls["webrtc"].legs[1].medias[0].rtp
		c := us.stats.snapshot()
		r.mu.Unlock()
		t.Fatalf("%v; srtpgw upstream stream: in %d, drops %v, remote %v\nanswer:\n%s", err, c.InPackets, c.DropMap(), us.Remote(), answer)
	}
	eventually(t, 5*time.Second, "srtpgw keys", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.calls["webrtc"].legs[1].medias[0].rtp.session.Load() != nil
	})
	for i := range 50 {
		if _, err := phone.SendRTP(payload("PHONE", i)); err != nil {
			t.Fatal(err)
		}
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: 0xb0b}, Payload: payload("BROWSER", i)}
		if err := peer.SendRTP(pkt); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (peer.Count() < 45 || phone.Count() < 45) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if peer.Count() < 45 || phone.Count() < 45 {
		snap := r.Snapshot()
		t.Fatalf("audio: peer got %d, phone got %d of 50; relay traffic %v drops %v", peer.Count(), phone.Count(), snap.Traffic, snap.Drops)
	}
	got := peer.Received()
	if !strings.HasPrefix(string(got[0].Payload), "PHONE-") {
		t.Fatalf("peer got %q", got[0].Payload[:16])
	}
	ev := rec.snapshot()
	if len(ev.dtlsOK) != 1 || len(ev.ended) != 0 {
		t.Fatalf("dtls ok %d, ended %d", len(ev.dtlsOK), len(ev.ended))
	}
	wantRole := "server" // the peer is the DTLS client
	if peerServer {
		wantRole = "client"
	}
	if ev.dtlsOK[0].Role != wantRole {
		t.Fatalf("srtpgw's DTLS role %s, want %s", ev.dtlsOK[0].Role, wantRole)
	}
	t.Logf("WebRTC peer: %s, %s, srtpgw role %s", ev.dtlsOK[0].Profile, ev.dtlsOK[0].CipherSuite, ev.dtlsOK[0].Role)
}
