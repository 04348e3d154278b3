package relay

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"

	"github.com/srtpgw/srtpgw/relay/sim"
)

// attacker is a socket on a third address that sprays the relay and counts
// what it receives back (security requirement A1: it must receive nothing).
type attacker struct {
	conn *net.UDPConn
	got  chan []byte
}

func newAttacker(t *testing.T) *attacker {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(rogueAddr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	a := &attacker{conn: c, got: make(chan []byte, 1024)}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			a.got <- append([]byte(nil), buf[:n]...)
		}
	}()
	t.Cleanup(func() { c.Close() })
	return a
}

func (a *attacker) send(t *testing.T, b []byte, to netip.AddrPort) {
	t.Helper()
	if _, err := a.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

func (a *attacker) received() int { return len(a.got) }

func drops(s *Stream, d DropReason) uint64 { return s.stats.drops[d].Load() }

// TestRogueSourcePhoneSide sprays the phone-side port from a third host
// before the answer, during the learning window and after: nothing reaches
// the upstream, nothing comes back to the attacker, the destination never
// moves, and every packet is counted as rogue_source (or no_route before
// the answer, when nothing can be forwarded at all).
func TestRogueSourcePhoneSide(t *testing.T) {
	r, _ := newTestRelay(t, func(c *Config) { c.LearnWindow = 5 * time.Second })
	defer r.Close()
	atk := newAttacker(t)
	c := placeCall(t, r, "rogue", callOpts{setup: "active"})
	ph := c.stream(t, 0, 1)
	target := ph.local
	want := ph.Remote()
	rogue := c.phone.RTPPacket(payload("ROGUE", 0))

	// During the learning window and after the keys exist.
	for range 20 {
		atk.send(t, rogue, target)
	}
	eventually(t, 2*time.Second, "rogue packets counted", func() bool { return drops(ph, DropRogueSource) == 20 })
	// The legitimate call keeps flowing.
	for i := range 10 {
		if _, err := c.phone.SendRTP(payload("PHONE", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 2*time.Second, "legitimate media delivered", func() bool {
		got, _ := c.up.Received()
		return len(got) == 10
	})
	if ph.Remote() != want {
		t.Fatalf("phone destination moved to %v", ph.Remote())
	}
	got, _ := c.up.Received()
	for _, p := range got {
		if bytes.Contains(p.Data, []byte("ROGUE")) {
			t.Fatal("rogue media reached the upstream")
		}
	}
	// Media from upstream still goes to the phone, not the attacker.
	if _, err := c.up.SendRTP(upstreamPacket(1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "phone receives", func() bool { return c.phone.Count() >= 1 })
	time.Sleep(50 * time.Millisecond)
	if n := atk.received(); n != 0 {
		t.Fatalf("attacker received %d packets", n)
	}
}

// TestRogueSourceBeforeAnswer: between offer and answer nothing is routed;
// the spray is counted and the attacker gets nothing.
func TestRogueSourceBeforeAnswer(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	atk := newAttacker(t)
	phone, err := sim.NewPhone(phoneAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	offer, err := r.Offer(context.Background(), &Request{CallID: "early", FromTag: "a", SDP: phone.OfferSDP(1),
		Transport: TransportDTLSSAVP, FromInterface: "lan", ToInterface: "wan"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sim.ParseMedia(offer)
	r.mu.Lock()
	ph := r.calls["early"].legs[0].medias[0].rtp
	up := r.calls["early"].legs[1].medias[0].rtp
	r.mu.Unlock()
	for range 5 {
		atk.send(t, phone.RTPPacket(payload("ROGUE", 0)), ph.local)
		atk.send(t, phone.RTPPacket(payload("ROGUE", 0)), m.RTP)
	}
	eventually(t, 2*time.Second, "early spray counted", func() bool {
		return drops(ph, DropNoRoute) == 5 && drops(up, DropNoRoute) == 5
	})
	if atk.received() != 0 {
		t.Fatal("attacker got a reply")
	}
}

// TestTamperedSRTPFromUpstream: a modified SRTP packet fails authentication,
// is counted as auth, and never reaches the phone.
func TestTamperedSRTPFromUpstream(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "tamper", callOpts{setup: "passive"})
	enc, err := c.up.SendRTP(upstreamPacket(1)) // one genuine packet
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "genuine packet", func() bool { return c.phone.Count() == 1 })
	for i := range 3 {
		forged := append([]byte(nil), enc...)
		forged[len(forged)-1-i] ^= 0x01 // flip a bit in the tag or payload
		forged[3]++                     // and move the sequence so it is not a replay
		if err := c.up.SendRaw(forged); err != nil {
			t.Fatal(err)
		}
	}
	us := c.stream(t, 1, 1)
	eventually(t, 2*time.Second, "auth drops", func() bool { return drops(us, DropAuth) == 3 })
	if c.phone.Count() != 1 {
		t.Fatalf("phone received %d packets, want only the genuine one", c.phone.Count())
	}
}

// TestReplayedSRTP: re-sending a captured valid packet is dropped as replay.
func TestReplayedSRTP(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "replay", callOpts{setup: "active"})
	enc, err := c.up.SendRTP(upstreamPacket(1))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "genuine packet", func() bool { return c.phone.Count() == 1 })
	for range 4 {
		if err := c.up.SendRaw(enc); err != nil {
			t.Fatal(err)
		}
	}
	us := c.stream(t, 1, 1)
	eventually(t, 2*time.Second, "replay drops", func() bool { return drops(us, DropReplay) == 4 })
	if c.phone.Count() != 1 {
		t.Fatalf("phone received %d packets", c.phone.Count())
	}
}

// TestGarbagePackets: truncated, unknown-first-byte and STUN datagrams on
// both legs are dropped as malformed and go nowhere.
func TestGarbagePackets(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "garbage", callOpts{setup: "active"})
	junk := [][]byte{
		{0x80, 0x00, 0x01},              // truncated RTP
		{0x80, 0xc8, 0x00},              // truncated RTCP
		{0xff, 0xff, 0xff, 0xff},        // first byte outside RFC 7983
		{0x00, 0x01, 0x00, 0x00},        // STUN without ICE
		bytes.Repeat([]byte{0x41}, 200), // text
	}
	for _, j := range junk {
		if _, err := c.phone.RTPConn.WriteToUDPAddrPort(j, c.phone.Remote().RTP); err != nil {
			t.Fatal(err)
		}
		if err := c.up.SendRaw(j); err != nil {
			t.Fatal(err)
		}
	}
	ph, us := c.stream(t, 0, 1), c.stream(t, 1, 1)
	eventually(t, 2*time.Second, "malformed drops", func() bool {
		return drops(ph, DropMalformed) == uint64(len(junk)) && drops(us, DropMalformed) == uint64(len(junk))
	})
	got, _ := c.up.Received()
	if len(got) != 0 || c.phone.Count() != 0 || c.up.AuthErrors() != 0 {
		t.Fatalf("garbage was forwarded: upstream %d, phone %d, upstream auth errors %d", len(got), c.phone.Count(), c.up.AuthErrors())
	}
}

// TestClientHelloFromThirdAddress races a real ClientHello from an attacker
// against the real upstream's handshake: it is refused (dtls_rejected),
// never answered, and the real handshake completes.
func TestClientHelloFromThirdAddress(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	atk := newAttacker(t)
	c := placeCall(t, r, "hello-race", callOpts{setup: "active", noConnect: true})
	us := c.stream(t, 1, 1)

	// The attacker runs a pion client from its own address at srtpgw.
	cert, _ := selfsign.GenerateSelfSigned()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go func() {
		dc, err := dtls.ClientWithOptions(atk.conn, net.UDPAddrFromAddrPort(us.local),
			dtls.WithCertificates(cert), dtls.WithInsecureSkipVerify(true),
			dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM))
		if err == nil {
			_ = dc.HandshakeContext(ctx)
			dc.Close()
		}
	}()
	eventually(t, 3*time.Second, "attacker ClientHello refused", func() bool { return drops(us, DropDTLS) >= 1 })

	hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer hcancel()
	if err := c.up.Connect(hctx, true); err != nil {
		t.Fatalf("real handshake failed after the race: %v", err)
	}
	c.waitKeys(t)
	if _, err := c.phone.SendRTP(payload("PHONE", 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "media after race", func() bool { got, _ := c.up.Received(); return len(got) == 1 })
}

// TestFingerprintMismatchAbortsCall: a peer whose certificate does not match
// its SDP fingerprint (a man in the middle) fails inside the handshake; no
// keys exist, the call ends as dtls_failed, and the failure is reported.
func TestFingerprintMismatchAbortsCall(t *testing.T) {
	for _, setup := range []string{"active", "passive"} {
		t.Run(setup, func(t *testing.T) {
			r, rec := newTestRelay(t, nil)
			defer r.Close()
			other, _ := selfsign.GenerateSelfSigned()
			c := placeCall(t, r, "mitm-"+setup, callOpts{setup: setup, mux: true, noConnect: true,
				upCfg: func(u *sim.UpstreamConfig) { u.AdvertiseCert = &other }})
			us := c.stream(t, 1, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
			defer cancel()
			if err := c.up.Connect(ctx, setup == "active"); err == nil && us.session.Load() != nil {
				t.Fatal("handshake with a mismatched certificate produced keys")
			}
			eventually(t, 6*time.Second, "call ended as dtls_failed", func() bool {
				ev := rec.snapshot()
				return len(ev.ended) == 1 && ev.ended[0].Reason == EndDTLSFailed
			})
			ev := rec.snapshot()
			if len(ev.dtlsFail) != 1 || !strings.Contains(ev.dtlsFail[0], "fingerprint_mismatch") {
				t.Fatalf("dtls failures: %q", ev.dtlsFail)
			}
			if len(ev.dtlsOK) != 0 {
				t.Fatal("a DTLS association was reported established")
			}
			if _, err := r.Query(context.Background(), &QueryRequest{CallID: c.id}); err == nil {
				t.Fatal("call still exists after a failed handshake")
			}
		})
	}
}

// TestFailClosedBeforeKeys: phone media sent before the handshake is
// dropped as no_keys; the upstream sees only DTLS, never RTP.
func TestFailClosedBeforeKeys(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "early-media", callOpts{setup: "active", noConnect: true})
	for i := range 20 {
		if _, err := c.phone.SendRTP(payload("PHONE", i)); err != nil {
			t.Fatal(err)
		}
	}
	ph := c.stream(t, 0, 1)
	eventually(t, 2*time.Second, "no_keys drops", func() bool { return drops(ph, DropNoKeys) == 20 })
	for _, p := range c.up.Captured() {
		if p.Data[0] >= 128 && p.Data[0] <= 191 {
			t.Fatalf("RTP-looking datagram reached the upstream before keys: % x", p.Data[:8])
		}
	}
}
