package webrtc

// Audio for the harness: the simulated phone sends a 1 kHz tone as G.711
// µ-law (PCMU, RFC 3551 §4.5.14), the WebRTC peer sends 440 Hz back, and
// each side checks it heard the *other* tone. Distinct frequencies per
// direction prove the audio crossed the relay rather than looping back.

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"testing"
)

const (
	sampleRate  = 8000 // PCMU clock rate (RFC 3551 §4.5.14)
	ptimeSample = 160  // 20 ms at 8 kHz
	phoneToneHz = 1000.0
	peerToneHz  = 440.0
)

// ulawEncode compresses one linear sample to G.711 µ-law (ITU-T G.711
// §3.2: bias 0x84, segment = position of the top bit, bits inverted).
func ulawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := byte(0)
	if x < 0 {
		x, sign = -x, 0x80
	}
	if x > clip {
		x = clip
	}
	x += bias
	seg := bits.Len(uint(x >> 8)) // top bit of x is bit seg+7
	mant := byte(x>>(seg+3)) & 0x0f
	return ^(sign | byte(seg)<<4 | mant)
}

// ulawDecode expands one G.711 µ-law byte to linear PCM (ITU-T G.711).
func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// toneSource produces consecutive 20 ms PCMU payloads of a sine tone with a
// continuous phase across packets.
type toneSource struct {
	freq, amp float64
	n         int // samples produced so far
}

func (g *toneSource) next() []byte {
	p := make([]byte, ptimeSample)
	for i := range p {
		s := g.amp * math.Sin(2*math.Pi*g.freq*float64(g.n)/sampleRate)
		p[i] = ulawEncode(int16(s))
		g.n++
	}
	return p
}

// goertzel returns the amplitude of freq in s (Goertzel algorithm), scaled so
// a full-length sine of amplitude A gives about A/2.
func goertzel(s []int16, freq float64, rate int) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range s {
		s0 := float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	if p < 0 {
		p = 0
	}
	return math.Sqrt(p) / float64(len(s))
}

// toneStats summarises how much of a recording carries a tone.
type toneStats struct {
	blocks     int     // 20 ms blocks examined
	toneBlocks int     // blocks where freq dominates and is loud
	rms        float64 // RMS over the whole recording
	dominantHz float64 // strongest frequency of the whole recording, 10 Hz grid
}

// analyseTone counts 20 ms blocks in which freq is at least 10x stronger
// than other, with enough energy to be more than noise or comfort noise,
// and finds the dominant frequency between 100 and 3900 Hz.
func analyseTone(s []int16, rate int, freq, other float64) toneStats {
	var st toneStats
	var sum float64
	for _, x := range s {
		sum += float64(x) * float64(x)
	}
	if len(s) > 0 {
		st.rms = math.Sqrt(sum / float64(len(s)))
	}
	block := rate / 50
	for off := 0; block > 0 && off+block <= len(s); off += block {
		b := s[off : off+block]
		st.blocks++
		f, o := goertzel(b, freq, rate), goertzel(b, other, rate)
		if f > 500 && f > 10*o {
			st.toneBlocks++
		}
	}
	// The dominant frequency over at most the last second keeps the scan
	// cheap (380 Goertzel runs over 8000 samples).
	tailLen := min(len(s), rate)
	tail := s[len(s)-tailLen:]
	best := 0.0
	for f := 100.0; f < 3900 && tailLen > 0; f += 10 {
		if a := goertzel(tail, f, rate); a > best {
			best, st.dominantHz = a, f
		}
	}
	return st
}

// decodePCMU returns the samples of the payload-type-0 RTP packets in pkts,
// in arrival order (the relay does not reorder on loopback).
func decodePCMU(pkts [][]byte) (samples []int16, packets int) {
	for _, p := range pkts {
		if len(p) < 12 || p[0]>>6 != 2 || p[1]&0x7f != 0 {
			continue
		}
		hdr := 12 + 4*int(p[0]&0x0f)
		if p[0]&0x10 != 0 { // header extension (RFC 3550 §5.3.1)
			if len(p) < hdr+4 {
				continue
			}
			hdr += 4 + 4*int(binary.BigEndian.Uint16(p[hdr+2:]))
		}
		end := len(p)
		if p[0]&0x20 != 0 && end > hdr { // padding
			end -= int(p[end-1])
		}
		if hdr > end {
			continue
		}
		packets++
		for _, u := range p[hdr:end] {
			samples = append(samples, ulawDecode(u))
		}
	}
	return samples, packets
}

// seqGaps describes the RTP sequence numbers of a received stream: where
// packets went missing tells a late start from a stall or a burst loss.
type seqGaps struct {
	first, last    uint16
	received, lost int
	gaps           int // runs of missing packets
	largest        int // longest run
}

func (g seqGaps) String() string {
	return fmt.Sprintf("seq %d..%d: %d received, %d lost in %d gaps (largest %d)", g.first, g.last, g.received, g.lost, g.gaps, g.largest)
}

// readSeqGaps assumes arrival order is sending order (loopback) and
// handles the 16-bit wrap (RFC 3550 §A.1).
func readSeqGaps(pkts [][]byte) seqGaps {
	var g seqGaps
	for _, p := range pkts {
		if len(p) < 12 {
			continue
		}
		seq := binary.BigEndian.Uint16(p[2:])
		if g.received > 0 {
			if d := int(seq - g.last); d > 1 && d < 1<<15 {
				g.gaps++
				g.lost += d - 1
				g.largest = max(g.largest, d-1)
			}
		} else {
			g.first = seq
		}
		g.last = seq
		g.received++
	}
	return g
}

func TestReadSeqGaps(t *testing.T) {
	mk := func(seqs ...uint16) [][]byte {
		var out [][]byte
		for _, s := range seqs {
			p := make([]byte, 12)
			binary.BigEndian.PutUint16(p[2:], s)
			out = append(out, p)
		}
		return out
	}
	tests := []struct {
		name string
		in   [][]byte
		want seqGaps
	}{
		{"none", nil, seqGaps{}},
		{"contiguous across the wrap", mk(65534, 65535, 0, 1), seqGaps{first: 65534, last: 1, received: 4}},
		{"two gaps", mk(10, 11, 14, 15, 20), seqGaps{first: 10, last: 20, received: 5, lost: 6, gaps: 2, largest: 4}},
		{"gap across the wrap", mk(65535, 2), seqGaps{first: 65535, last: 2, received: 2, lost: 2, gaps: 1, largest: 2}},
		{"duplicate and short packet ignored", mk(5, 5, 6), seqGaps{first: 5, last: 6, received: 3}},
	}
	for _, tt := range tests {
		in := tt.in
		if tt.name == "duplicate and short packet ignored" {
			in = append(in, []byte{0x80})
		}
		if got := readSeqGaps(in); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if s := (seqGaps{first: 1, last: 9, received: 5, lost: 4, gaps: 1, largest: 4}).String(); !strings.Contains(s, "4 lost in 1 gaps") {
		t.Errorf("String() = %q", s)
	}
}

func TestUlawDecode(t *testing.T) {
	// Reference points of ITU-T G.711 table 2a (decoder output, 14-bit
	// values shifted to 16-bit).
	tests := []struct {
		in   byte
		want int16
	}{
		{0xff, 0}, {0x7f, 0}, {0x80, 32124}, {0x00, -32124}, {0xf0, 120}, {0x70, -120},
	}
	for _, tt := range tests {
		if got := ulawDecode(tt.in); got != tt.want {
			t.Errorf("ulawDecode(%#x) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestUlawEncode(t *testing.T) {
	tests := []struct {
		in   int16
		want byte
	}{
		{0, 0xff}, {-1, 0x7f}, {32767, 0x80}, {-32768, 0x00}, {120, 0xf0}, {-120, 0x70},
	}
	for _, tt := range tests {
		if got := ulawEncode(tt.in); got != tt.want {
			t.Errorf("ulawEncode(%d) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
	// Every code decodes and re-encodes to itself (0x7f and 0xff both
	// mean zero; the encoder picks 0xff).
	for u := 0; u < 256; u++ {
		if u == 0x7f {
			continue
		}
		if got := ulawEncode(ulawDecode(byte(u))); got != byte(u) {
			t.Errorf("round trip %#x -> %d -> %#x", u, ulawDecode(byte(u)), got)
		}
	}
}

func TestToneRoundTrip(t *testing.T) {
	tests := []struct {
		send, other float64
	}{{phoneToneHz, peerToneHz}, {peerToneHz, phoneToneHz}}
	for _, tt := range tests {
		g := &toneSource{freq: tt.send, amp: 10000}
		var pkts [][]byte
		for seq := 0; seq < 50; seq++ {
			hdr := make([]byte, 12)
			hdr[0] = 0x80
			binary.BigEndian.PutUint16(hdr[2:], uint16(seq))
			pkts = append(pkts, append(hdr, g.next()...))
		}
		pkts = append(pkts, []byte{0x80, 101, 0, 0}) // short/other payload type: skipped
		s, n := decodePCMU(pkts)
		if n != 50 || len(s) != 50*ptimeSample {
			t.Fatalf("%v Hz: %d packets, %d samples", tt.send, n, len(s))
		}
		st := analyseTone(s, sampleRate, tt.send, tt.other)
		if st.toneBlocks != 50 || st.blocks != 50 {
			t.Errorf("%v Hz: %d of %d blocks", tt.send, st.toneBlocks, st.blocks)
		}
		if math.Abs(st.dominantHz-tt.send) > 10 {
			t.Errorf("%v Hz: dominant %v Hz", tt.send, st.dominantHz)
		}
		if st.rms < 6500 || st.rms > 7600 { // 10000/sqrt(2), plus µ-law error
			t.Errorf("%v Hz: rms %.0f, want about 7071", tt.send, st.rms)
		}
		if other := analyseTone(s, sampleRate, tt.other, tt.send); other.toneBlocks != 0 {
			t.Errorf("%v Hz detected in a %v Hz tone: %d blocks", tt.other, tt.send, other.toneBlocks)
		}
	}
}

func TestDecodePCMUHeaders(t *testing.T) {
	payload := []byte{0xff, 0x80}
	ext := []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1, 1, 2, 3, 4}
	padded := []byte{0xa0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}
	tests := []struct {
		name string
		pkt  []byte
		want []int16
	}{
		{"extension skipped", append(append([]byte(nil), ext...), payload...), []int16{0, 32124}},
		{"padding removed", append(append(append([]byte(nil), padded...), payload...), 0, 2), []int16{0, 32124}},
		{"csrc skipped", append([]byte{0x81, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9}, payload...), []int16{0, 32124}},
		{"version 1 ignored", append([]byte{0x40, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0}, payload...), nil},
		{"extension past end", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe}, nil},
	}
	for _, tt := range tests {
		got, _ := decodePCMU([][]byte{tt.pkt})
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}
