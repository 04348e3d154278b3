package relay

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/sim"
)

// TestReofferNewPhonePort: mid-call the phone re-INVITEs from a new port
// (old handsets do on resume). The route follows at once, media keeps
// flowing both ways, the old port is no longer accepted, the DTLS
// association upstream is kept, and a storm of re-offers grows nothing.
func TestReofferNewPhonePort(t *testing.T) {
	r, rec := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "reinvite", callOpts{setup: "active", mux: true})
	phone2, err := sim.NewPhone(phoneAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer phone2.Close()
	reofferFrom(t, r, c, phone2, 2)

	for i := range 20 {
		if _, err := c.up.SendRTP(upstreamPacket(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := phone2.SendRTP(payload("PHONE2", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*time.Second, "media via the new port", func() bool {
		got, _ := c.up.Received()
		return phone2.Count() == 20 && len(got) == 20
	})
	if c.phone.Count() != 0 {
		t.Fatalf("old phone port still received %d packets", c.phone.Count())
	}
	if _, err := c.phone.SendRTP(payload("OLD", 0)); err != nil {
		t.Fatal(err)
	}
	ph := c.stream(t, 0, 1)
	eventually(t, 2*time.Second, "old source refused", func() bool { return drops(ph, DropRogueSource) == 1 })
	if ev := rec.snapshot(); len(ev.dtlsOK) != 1 || len(ev.ended) != 0 {
		t.Fatalf("re-offer disturbed the call: %d handshakes, %d ended", len(ev.dtlsOK), len(ev.ended))
	}

	// A storm of re-offers with the same media: no growth.
	base := runtime.NumGoroutine()
	for v := 3; v < 53; v++ {
		reofferFrom(t, r, c, phone2, v)
	}
	if n := runtime.NumGoroutine(); n > base+2 {
		t.Fatalf("goroutines grew from %d to %d over 50 re-offers", base, n)
	}
	if _, err := c.up.SendRTP(upstreamPacket(100)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "media after the storm", func() bool { return phone2.Count() == 21 })
}

// TestDTLSRetiredSilently: once the upstream's SRTP authenticates, srtpgw
// releases its DTLS association for the rest of the call without sending
// the peer anything (no close_notify alert), and media keeps flowing.
func TestDTLSRetiredSilently(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "retire", callOpts{setup: "active", mux: true})
	us := c.stream(t, 1, 1)
	ep := us.endpoint.Load()
	if _, err := c.up.SendRTP(upstreamPacket(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "association retired", func() bool {
		select {
		case <-ep.Done():
			return true
		default:
			return false
		}
	})
	for i := range 10 {
		if _, err := c.up.SendRTP(upstreamPacket(i + 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.phone.SendRTP(payload("PHONE", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 2*time.Second, "media after retirement", func() bool {
		got, _ := c.up.Received()
		return len(got) == 10 && c.phone.Count() == 11
	})
	for _, p := range c.up.Captured() {
		if p.Data[0] == 21 { // TLS alert record (RFC 6347 §4.1): close_notify would be one
			t.Fatalf("srtpgw sent a DTLS alert: % x", p.Data[:min(16, len(p.Data))])
		}
	}
}

// reofferFrom re-INVITEs c from phone (a re-offer with the phone's SDP at
// version, the upstream's answer), and points the phone at srtpgw's
// answer. srtpgw's upstream port must not move.
func reofferFrom(t *testing.T, r *Relay, c *testCall, phone *sim.Phone, version int) {
	t.Helper()
	ctx := context.Background()
	req := &Request{CallID: c.id, FromTag: "ft-phone", SDP: phone.OfferSDP(version), Transport: TransportDTLSSAVP,
		RTCPMux: RTCPMuxOffer, Replace: ReplaceOrigin}
	offer, err := r.Offer(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sim.ParseMedia(offer)
	if m.RTP != c.up.Remote().RTP {
		t.Fatalf("re-offer moved srtpgw's upstream port: %v -> %v", c.up.Remote().RTP, m.RTP)
	}
	answer, err := c.up.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Answer(ctx, &Request{CallID: c.id, FromTag: "ft-phone", ToTag: "tt-up", SDP: answer})
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.SetRemote(out); err != nil {
		t.Fatal(err)
	}
}

// TestReofferStormNewPorts: a re-INVITE storm on live calls. Four calls
// each re-offer ten times from a new phone port, interleaved, with media
// both ways after every swap. Every packet sent after a swap arrives (none
// is lost beyond the swap itself), the old port gets nothing more, no call
// re-handshakes or ends, and goroutines return to where they were.
func TestReofferStormNewPorts(t *testing.T) {
	r, rec := newTestRelay(t, nil)
	defer r.Close()
	const calls, rounds, burst = 4, 10, 10
	var cs []*testCall
	for i := range calls {
		cs = append(cs, placeCall(t, r, fmt.Sprintf("storm-%d", i), callOpts{setup: "active", mux: true}))
	}
	base := runtime.NumGoroutine()
	current := make([]*sim.Phone, calls)
	for i, c := range cs {
		current[i] = c.phone
	}
	for round := range rounds {
		for i, c := range cs {
			p, err := sim.NewPhone(phoneAddr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			reofferFrom(t, r, c, p, round+2)
			old := current[i]
			before := old.Count()
			upBefore, _ := c.up.Received()
			for k := range burst {
				if _, err := c.up.SendRTP(upstreamPacket(round*burst + k)); err != nil {
					t.Fatal(err)
				}
				if _, err := p.SendRTP(payload(fmt.Sprintf("R%d", round), k)); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, 3*time.Second, fmt.Sprintf("call %d, swap %d: every packet after the swap", i, round), func() bool {
				got, _ := c.up.Received()
				return p.Count() == burst && len(got) == len(upBefore)+burst
			})
			if n := old.Count(); n != before {
				t.Fatalf("call %d, swap %d: the old phone port got %d packets after the swap", i, round, n-before)
			}
			old.Close()
			current[i] = p
		}
	}
	if ev := rec.snapshot(); len(ev.dtlsOK) != calls || len(ev.ended) != 0 {
		t.Fatalf("the storm disturbed the calls: %d handshakes, %d ended", len(ev.dtlsOK), len(ev.ended))
	}
	// Each phone runs two reader goroutines; one phone per call is open
	// now as before the storm.
	checkNoLeak(t, base)
}
