package kamailio

// Media-leg analysis: given the captured datagrams of one call, show that the
// phone leg carried plain RTP and the upstream leg carried only DTLS and SRTP
// (the relay never forwarded a phone packet upstream in the clear, and never
// sent the phone anything but plain RTP).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

// relayPorts names the relay's media sockets of one call: the phone side
// (lan) and the upstream side (wan), RTP and RTCP. Packets are assigned to a
// leg by the relay socket they touch, not by the agent's address: baresip
// binds its RTP sockets to the wildcard address, so on loopback its packets
// leave from 127.0.0.1 whatever address its SDP names.
type relayPorts struct {
	lan, wan map[netip.AddrPort]bool
}

// dirStats counts one direction of one leg.
type dirStats struct {
	kinds    map[string]int
	dtlsHS   int // DTLS records with content type 22 (handshake, RFC 6347 s4.1)
	toneRTP  int // plain PCMU packets whose payload carries the expected tone
	rtpBytes int
}

// mediaReport is the outcome of analyseMedia.
type mediaReport struct {
	phoneToRelay, relayToPhone, relayToUp, upToRelay dirStats

	// Upstream-leg RTP-shaped packets whose payload equals the payload of a
	// plain RTP packet seen on the phone leg (either direction). Must be 0.
	cleartextUpstream int
	// Upstream-leg packets matched to a phone-leg packet by SSRC and
	// sequence number (the relay keeps both, RFC 3711 s3.1), and the
	// histogram of (SRTP payload length - plain payload length): the
	// authentication tag, 10 bytes for AES_CM_HMAC_SHA1_80, 16 for AEAD GCM
	// (RFC 7714 s12).
	matched  int
	tagBytes map[int]int
}

func newDirStats() dirStats { return dirStats{kinds: map[string]int{}} }

// analyseMedia sorts pkts into the four directions and checks them.
// phoneTone and upTone are the tones (Hz) the phone and the upstream send.
func analyseMedia(pkts []udpPacket, rp relayPorts, phoneTone, upTone float64) mediaReport {
	r := mediaReport{
		phoneToRelay: newDirStats(), relayToPhone: newDirStats(),
		relayToUp: newDirStats(), upToRelay: newDirStats(),
		tagBytes: map[int]int{},
	}
	plain := map[string]bool{}     // payloads seen in clear on the phone leg
	plainByID := map[[6]byte]int{} // SSRC+seq -> plain payload length
	id := func(p []byte) (k [6]byte) { copy(k[:], p[8:12]); copy(k[4:], p[2:4]); return k }
	var upstreamRTP [][]byte
	for _, p := range pkts {
		var d *dirStats
		switch {
		case rp.lan[p.dst]:
			d = &r.phoneToRelay
		case rp.lan[p.src]:
			d = &r.relayToPhone
		case rp.wan[p.src]:
			d = &r.relayToUp
		case rp.wan[p.dst]:
			d = &r.upToRelay
		default:
			continue
		}
		k := classify(p.payload)
		d.kinds[k]++
		switch k {
		case kindDTLS:
			for _, ct := range dtlsContentTypes(p.payload) {
				if ct == 22 {
					d.dtlsHS++
				}
			}
		case kindRTP:
			pl, ok := interop.RTPPayload(p.payload)
			if !ok {
				continue
			}
			d.rtpBytes += len(pl)
			if d == &r.relayToUp || d == &r.upToRelay {
				upstreamRTP = append(upstreamRTP, p.payload)
				continue
			}
			plain[string(pl)] = true
			plainByID[id(p.payload)] = len(pl)
			want := upTone
			if d == &r.phoneToRelay {
				want = phoneTone
			}
			if interop.RTPPayloadType(p.payload) == 0 && pcmuHasTone(pl, want) {
				d.toneRTP++
			}
		}
	}
	for _, p := range upstreamRTP {
		pl, _ := interop.RTPPayload(p)
		if plain[string(pl)] {
			r.cleartextUpstream++
		}
		if n, ok := plainByID[id(p)]; ok {
			r.matched++
			r.tagBytes[len(pl)-n]++
		}
	}
	return r
}

// pcmuHasTone decodes a G.711 mu-law payload and looks for freq.
func pcmuHasTone(pl []byte, freq float64) bool {
	s := interop.AppendUlaw(make([]int16, 0, len(pl)), pl)
	st := interop.AnalyseTone(s, interop.SampleRate, freq, freq*1.75)
	return st.Blocks > 0 && st.ToneBlocks == st.Blocks
}

func (d dirStats) String() string {
	return fmt.Sprintf("%v dtls-handshake-records=%d tone-rtp=%d", d.kinds, d.dtlsHS, d.toneRTP)
}

func TestAnalyseMedia(t *testing.T) {
	a := struct{ phone, relayLAN, relayWAN, upstream netip.Addr }{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"),
		netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.1"),
	}
	ap := func(ip netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(ip, port) }
	rp := relayPorts{
		lan: map[netip.AddrPort]bool{ap(a.relayLAN, 31000): true},
		wan: map[netip.AddrPort]bool{ap(a.relayWAN, 31002): true},
	}
	tone := func(freq float64) []byte { // 20 ms of PCMU carrying freq
		s, _, _ := readWAV(toneWAV(freq, 1))
		out := make([]byte, 160)
		for i := range out {
			out[i] = interop.UlawEncode(s[i])
		}
		return out
	}
	rtp := func(seq uint16, pl []byte) []byte {
		h := []byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0xca, 0xfe, 0, 1}
		binary.BigEndian.PutUint16(h[2:], seq)
		return append(h, pl...)
	}
	phonePL := tone(800)
	srtpPL := append(bytes.Repeat([]byte{0x5a}, 160), make([]byte, 10)...)
	pkts := []udpPacket{
		{src: ap(a.phone, 10000), dst: ap(a.relayLAN, 31000), payload: rtp(1, phonePL)},
		{src: ap(a.relayLAN, 31000), dst: ap(a.phone, 10000), payload: rtp(9, tone(1400))},
		{src: ap(a.relayWAN, 31002), dst: ap(a.upstream, 10002), payload: []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{src: ap(a.relayWAN, 31002), dst: ap(a.upstream, 10002), payload: rtp(1, srtpPL)},
		{src: ap(a.relayWAN, 31002), dst: ap(a.upstream, 10002), payload: rtp(2, phonePL)}, // leaked clear text
		{src: ap(a.phone, 10000), dst: ap(a.relayWAN, 41000), payload: rtp(3, phonePL)},    // another call: ignored
	}
	r := analyseMedia(pkts, rp, 800, 1400)
	if r.phoneToRelay.toneRTP != 1 || r.relayToPhone.toneRTP != 1 {
		t.Errorf("tone packets: phone->relay %d, relay->phone %d, want 1 and 1", r.phoneToRelay.toneRTP, r.relayToPhone.toneRTP)
	}
	if r.relayToUp.dtlsHS != 1 || r.relayToUp.kinds[kindRTP] != 2 {
		t.Errorf("relay->upstream: %v", r.relayToUp)
	}
	if r.cleartextUpstream != 1 {
		t.Errorf("cleartextUpstream = %d, want 1", r.cleartextUpstream)
	}
	if r.matched != 1 || r.tagBytes[10] != 1 {
		t.Errorf("matched %d, tag histogram %v", r.matched, r.tagBytes)
	}
}
