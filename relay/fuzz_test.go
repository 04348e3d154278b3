package relay

import (
	"context"
	"testing"

	"github.com/srtpgw/srtpgw/crypto"
)

// FuzzSDP feeds arbitrary SDP to offer and answer: never a panic, and an
// accepted offer always yields SDP that parses again.
func FuzzSDP(f *testing.F) {
	for _, s := range []string{phoneOffer, cloudAnswer, cloudOffer, phoneAnswer, phoneOfferTwoM, "v=0\r\n"} {
		f.Add([]byte(s))
	}
	r := goldenRelay(f)
	f.Cleanup(func() { r.Close() })
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sdp []byte) {
		req := phoneToCloud(string(sdp))
		out, err := r.Offer(ctx, req)
		if err == nil {
			if _, perr := parseSDP(out); perr != nil {
				t.Fatalf("srtpgw produced SDP it cannot parse: %v\n%q", perr, out)
			}
			r.Answer(ctx, &Request{CallID: "golden", FromTag: "ft-phone", ToTag: "tt", SDP: sdp})
			r.Delete(ctx, &DeleteRequest{CallID: "golden", HasDelay: true})
		}
	})
}

// FuzzHandle feeds arbitrary datagrams to both directions of the packet
// path: never a panic, and nothing but authenticated SRTP or accepted
// plain RTP/RTCP is ever emitted.
func FuzzHandle(f *testing.F) {
	f.Add([]byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0xde, 0xad})
	f.Add([]byte{0x80, 0xc8, 0x00, 0x06, 0, 0, 0, 1})
	f.Add([]byte{0x16, 0xfe, 0xfd, 0, 0})
	f.Add([]byte{0x00, 0x01, 0x00, 0x00})
	b, err := NewBenchPath(crypto.ProfileAEADAES128GCM)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if out, _, _, drop := b.upstream.handle(pkt, b.upAt, b.scratch); drop == dropNone && out != nil {
			t.Fatalf("forged upstream datagram was forwarded: % x", pkt)
		}
		in := append([]byte(nil), pkt...)
		out, _, _, drop := b.phone.handle(pkt, b.phoneAt, b.scratch)
		if drop == dropNone && out != nil {
			// Whatever leaves toward the upstream went through SRTP:
			// longer by the authentication tag, never the input itself.
			if len(out) != len(in)+crypto.ProfileAEADAES128GCM.Overhead() && classify(in) == classRTP {
				t.Fatalf("phone packet of %d bytes left as %d bytes", len(in), len(out))
			}
			if string(out) == string(in) {
				t.Fatal("phone packet left unchanged")
			}
		}
	})
}
