package relay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/srtpgw/srtpgw/crypto"
)

// TestClassifyAllFirstBytes checks the RFC 7983 demultiplexer over every
// first byte value (security requirement T5).
func TestClassifyAllFirstBytes(t *testing.T) {
	for b0 := range 256 {
		for _, pt := range []byte{0, 96, 191, 192, 200, 223, 224} {
			got := classify([]byte{byte(b0), pt, 0, 0})
			var want pktClass
			switch {
			case b0 <= 3:
				want = classSTUN
			case b0 >= 20 && b0 <= 63:
				want = classDTLS
			case b0 >= 128 && b0 <= 191 && pt >= 192 && pt <= 223:
				want = classRTCP
			case b0 >= 128 && b0 <= 191:
				want = classRTP
			default:
				want = classUnknown
			}
			if got != want {
				t.Fatalf("classify(%d, pt %d) = %d, want %d", b0, pt, got, want)
			}
		}
	}
	if classify(nil) != classUnknown || classify([]byte{0x80}) != classUnknown {
		t.Fatal("empty or 1-byte RTP-looking datagram must be unknown")
	}
}

func g711(seq uint16) []byte {
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(pkt[8:], 0x11223344)
	copy(pkt[12:], bytes.Repeat([]byte("secret-voice "), 12))
	return pkt
}

var allProfiles = []crypto.Profile{crypto.ProfileAEADAES128GCM, crypto.ProfileAEADAES256GCM, crypto.ProfileAES128CMHMACSHA1_80}

// TestHandleRoundTrip: what the phone path emits, the peer decrypts to the
// original; what the peer emits, the upstream path decrypts to the original.
func TestHandleRoundTrip(t *testing.T) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			b, err := NewBenchPath(p)
			if err != nil {
				t.Fatal(err)
			}
			pkt := g711(7)
			out, err := b.PlainToSRTP(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte("secret-voice")) {
				t.Fatal("plaintext in SRTP output")
			}
			back, err := b.PeerDecryptRTP(nil, out)
			if err != nil || !bytes.Equal(back, pkt) {
				t.Fatalf("peer decrypt: %v", err)
			}
			in, _ := b.PeerEncryptRTP(nil, g711(9))
			plain, err := b.SRTPToPlain(in)
			if err != nil || !bytes.Equal(plain, g711(9)) {
				t.Fatalf("upstream path: %v", err)
			}
		})
	}
}

// TestHandleZeroAllocs asserts the hot path allocates nothing per packet in
// either direction, for every profile.
func TestHandleZeroAllocs(t *testing.T) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			b, err := NewBenchPath(p)
			if err != nil {
				t.Fatal(err)
			}
			pkt := g711(1)
			seq := uint16(1)
			if a := testing.AllocsPerRun(1000, func() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				if _, err := b.PlainToSRTP(pkt); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Fatalf("PlainToSRTP: %v allocs/op", a)
			}
			// Pre-build SRTP from the peer: each must be fresh (replay window).
			in := make([][]byte, 1100)
			for i := range in {
				in[i], _ = b.PeerEncryptRTP(nil, g711(uint16(100+i)))
			}
			i := 0
			if a := testing.AllocsPerRun(1000, func() {
				if _, err := b.SRTPToPlain(in[i]); err != nil {
					t.Fatal(err)
				}
				i++
			}); a != 0 {
				t.Fatalf("SRTPToPlain: %v allocs/op", a)
			}
		})
	}
}

// TestHandleDropsWithoutKeys: before the DTLS keys exist, phone media is
// dropped as no_keys and never emitted (fail closed).
func TestHandleDropsWithoutKeys(t *testing.T) {
	b, err := NewBenchPath(crypto.ProfileAEADAES128GCM)
	if err != nil {
		t.Fatal(err)
	}
	b.upstream.session.Store(nil)
	out, _, _, drop := b.phone.handle(g711(1), b.phoneAt, b.scratch)
	if drop != DropNoKeys || out != nil {
		t.Fatalf("got drop %v, out %d bytes; want no_keys and nothing", drop, len(out))
	}
	if _, err := b.SRTPToPlain(g711(2)); !errors.Is(err, ErrDropped) {
		t.Fatal("upstream media without keys was not dropped")
	}
}

// TestRelatchStaysInUpstreamNetworks: authenticated SRTP may move the
// upstream's address only within --upstream-networks.
func TestRelatchStaysInUpstreamNetworks(t *testing.T) {
	b, err := NewBenchPath(crypto.ProfileAEADAES128GCM)
	if err != nil {
		t.Fatal(err)
	}
	b.upstream.media.leg.call.relay.cfg.UpstreamNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.20/32")}
	outside := netip.MustParseAddrPort("127.0.0.99:5000")
	in, _ := b.PeerEncryptRTP(nil, g711(1))
	if _, _, _, drop := b.upstream.handle(in, outside, b.scratch); drop != dropNone {
		t.Fatalf("authenticated packet dropped: %v", drop)
	}
	if b.upstream.Remote() != b.upAt {
		t.Fatalf("destination moved outside the upstream networks, to %v", b.upstream.Remote())
	}
	inside := netip.MustParseAddrPort("127.0.0.20:6000")
	in, _ = b.PeerEncryptRTP(nil, g711(2))
	b.upstream.handle(in, inside, b.scratch)
	if b.upstream.Remote() != inside {
		t.Fatalf("destination %v, want the new address inside the networks %v", b.upstream.Remote(), inside)
	}
}
