package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/srtpgw/srtpgw/relay/sim"
	"github.com/srtpgw/srtpgw/relay/udp"
)

const packetsEachWay = 500

// payload is a recognisable 160-byte G.711 payload for packet i of sender.
func payload(sender string, i int) []byte {
	p := bytes.Repeat([]byte{0xd5}, 160) // µ-law silence
	copy(p, fmt.Sprintf("%s-%04d-plaintext-marker", sender, i))
	return p
}

// upstreamPacket builds the upstream's plain RTP packet i.
func upstreamPacket(i int) []byte {
	pkt := make([]byte, 12, 172)
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint16(pkt[2:], uint16(1000+i))
	binary.BigEndian.PutUint32(pkt[4:], uint32(160*i))
	binary.BigEndian.PutUint32(pkt[8:], 0xcafe0001)
	return append(pkt, payload("UPSTREAM", i)...)
}

// TestWholeCallLoopback drives one call through the relay on real loopback
// sockets against a pion/dtls + pion/srtp upstream, in both DTLS roles, for
// each allowed SRTP profile, with and without rtcp-mux.
func TestWholeCallLoopback(t *testing.T) {
	profiles := []struct {
		name string
		p    dtls.SRTPProtectionProfile
		want string
	}{
		{"gcm128", dtls.SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM"},
		{"gcm256", dtls.SRTP_AEAD_AES_256_GCM, "AEAD_AES_256_GCM"},
		{"cm80", dtls.SRTP_AES128_CM_HMAC_SHA1_80, "AES_CM_128_HMAC_SHA1_80"},
	}
	for _, io := range []string{"goroutines", "poller"} {
		for _, setup := range []string{"active", "passive"} {
			for _, prof := range profiles {
				for _, mux := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/%s/mux=%v", io, setup, prof.name, mux)
					t.Run(name, func(t *testing.T) {
						wholeCall(t, io == "poller", callOpts{setup: setup, mux: mux, profiles: []dtls.SRTPProtectionProfile{prof.p}}, prof.want)
					})
				}
			}
		}
	}
}

func wholeCall(t *testing.T, poller bool, o callOpts, wantProfile string) {
	base := runtime.NumGoroutine()
	var mod func(*Config)
	var p *udp.Poller
	if poller {
		var err error
		if p, err = udp.NewPoller(2); err != nil {
			t.Fatal(err)
		}
		mod = func(c *Config) { c.Network = udp.System{Poller: p} }
	}
	r, rec := newTestRelay(t, mod)
	c := placeCall(t, r, "call-"+t.Name(), o)
	if got := c.up.Profile(); got != o.profiles[0] {
		t.Fatalf("upstream negotiated %v", got)
	}

	// Media both ways at once, as in a call.
	sent := make([][]byte, packetsEachWay)
	done := make(chan error, 1)
	go func() {
		for i := range packetsEachWay {
			if _, err := c.up.SendRTP(upstreamPacket(i)); err != nil {
				done <- err
				return
			}
			if i%10 == 9 {
				time.Sleep(time.Millisecond)
			}
		}
		done <- nil
	}()
	for i := range packetsEachWay {
		pkt, err := c.phone.SendRTP(payload("PHONE", i))
		if err != nil {
			t.Fatal(err)
		}
		sent[i] = pkt
		if i%10 == 9 {
			time.Sleep(time.Millisecond)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := c.phone.SendRTCP(sim.ReceiverReport(c.phone.SSRC)); err != nil {
			t.Fatal(err)
		}
		if err := c.up.SendRTCP(sim.ReceiverReport(0xcafe0001)); err != nil {
			t.Fatal(err)
		}
	}
	delivered := func() bool {
		urtp, urtcp := c.up.Received()
		prtp, prtcp := c.phone.Received()
		return len(urtp) == packetsEachWay && len(prtp) == packetsEachWay && len(urtcp) == 5 && len(prtcp) == 5
	}
	deadline := time.Now().Add(5 * time.Second)
	for !delivered() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !delivered() {
		urtp, urtcp := c.up.Received()
		prtp, prtcp := c.phone.Received()
		st := r.Statistics()
		t.Fatalf("media lost: upstream got %d RTP %d RTCP, phone got %d RTP %d RTCP; relay stats %+v",
			len(urtp), len(urtcp), len(prtp), len(prtcp), st)
	}

	// Intact and in order, both ways.
	urtp, urtcp := c.up.Received()
	for i, p := range urtp {
		if !bytes.Equal(p.Data, sent[i]) {
			t.Fatalf("upstream packet %d differs from what the phone sent", i)
		}
	}
	prtp, prtcp := c.phone.Received()
	for i, p := range prtp {
		if !bytes.Equal(p.Data, upstreamPacket(i)) {
			t.Fatalf("phone packet %d differs from what the upstream sent", i)
		}
		if p.From != c.phone.Remote().RTP {
			t.Fatalf("phone got media from %v, not the advertised %v", p.From, c.phone.Remote().RTP)
		}
	}
	if !bytes.Equal(urtcp[0].Data, sim.ReceiverReport(c.phone.SSRC)) || !bytes.Equal(prtcp[0].Data, sim.ReceiverReport(0xcafe0001)) {
		t.Fatal("RTCP not translated intact")
	}

	// What crossed the upstream wire: never a plaintext payload.
	captured := c.up.Captured()
	if len(captured) < packetsEachWay {
		t.Fatalf("capture holds only %d datagrams", len(captured))
	}
	for _, p := range captured {
		if bytes.Contains(p.Data, []byte("PHONE-")) || bytes.Contains(p.Data, []byte("plaintext-marker")) {
			t.Fatalf("plaintext reached the upstream leg: % x", p.Data[:min(32, len(p.Data))])
		}
	}

	info, err := r.Delete(context.Background(), &DeleteRequest{CallID: c.id, FromTag: "ft-phone"})
	if err != nil {
		t.Fatal(err)
	}
	if info.RTP.Packets != 2*packetsEachWay {
		t.Errorf("delete reports %d RTP packets, want %d", info.RTP.Packets, 2*packetsEachWay)
	}
	ev := rec.snapshot()
	if len(ev.started) != 1 || len(ev.ended) != 1 {
		t.Fatalf("events: %d started, %d ended", len(ev.started), len(ev.ended))
	}
	end := ev.ended[0]
	if end.Reason != EndDelete || end.PhoneToUpstream.Forwarded != packetsEachWay+5 || end.UpstreamToPhone.Forwarded != packetsEachWay+5 {
		t.Fatalf("call end: %+v", end)
	}
	wantAssoc := 2
	if o.mux {
		wantAssoc = 1
	}
	if len(ev.dtlsOK) != wantAssoc || ev.dtlsOK[0].Profile != wantProfile {
		t.Fatalf("DTLS events: %+v", ev.dtlsOK)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if p != nil {
		p.Close()
	}
	c.phone.Close()
	c.up.Close()
	checkNoLeak(t, base)
}
