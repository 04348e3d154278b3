package interop

import (
	"encoding/binary"
	"math"
	"testing"
)

// pcmuPackets wraps n payloads of g in RTP headers (PT 0, seq 0, 1, ...).
func pcmuPackets(g *ToneSource, n int) [][]byte {
	var pkts [][]byte
	for seq := 0; seq < n; seq++ {
		hdr := make([]byte, 12)
		hdr[0] = 0x80
		binary.BigEndian.PutUint16(hdr[2:], uint16(seq))
		pkts = append(pkts, append(hdr, g.Next()...))
	}
	return pkts
}

func TestToneRoundTrip(t *testing.T) {
	// The WebRTC harness's phone (1 kHz) and peer (440 Hz) tones, and the
	// Kamailio harness's phone (800 Hz) and upstream (1400 Hz) tones.
	tests := []struct {
		send, other float64
	}{{1000, 440}, {440, 1000}, {800, 1400}, {1400, 800}}
	for _, tt := range tests {
		pkts := pcmuPackets(&ToneSource{Freq: tt.send, Amp: 10000}, 50)
		pkts = append(pkts, []byte{0x80, 101, 0, 0}) // short/other payload type: skipped
		s, n := DecodePCMU(pkts)
		if n != 50 || len(s) != 50*PtimeSamples {
			t.Fatalf("%v Hz: %d packets, %d samples", tt.send, n, len(s))
		}
		st := AnalyseTone(s, SampleRate, tt.send, tt.other)
		if st.ToneBlocks != 50 || st.Blocks != 50 {
			t.Errorf("%v Hz: %d of %d blocks", tt.send, st.ToneBlocks, st.Blocks)
		}
		if d := DominantHz(s, SampleRate); math.Abs(d-tt.send) > 10 {
			t.Errorf("%v Hz: dominant %v Hz", tt.send, d)
		}
		if st.RMS < 6500 || st.RMS > 7600 { // 10000/sqrt(2), plus µ-law error
			t.Errorf("%v Hz: rms %.0f, want about 7071", tt.send, st.RMS)
		}
		if other := AnalyseTone(s, SampleRate, tt.other, tt.send); other.ToneBlocks != 0 {
			t.Errorf("%v Hz detected in a %v Hz tone: %d blocks", tt.other, tt.send, other.ToneBlocks)
		}
	}
}

func TestAnalyseToneSilenceAndShortInput(t *testing.T) {
	if st := AnalyseTone(make([]int16, 1600), SampleRate, 1000, 440); st.Blocks != 10 || st.ToneBlocks != 0 || st.RMS != 0 {
		t.Errorf("silence: %+v", st)
	}
	// Less than one block: RMS only, no block judged.
	s, _ := DecodePCMU(pcmuPackets(&ToneSource{Freq: 1000, Amp: 10000}, 1))
	if st := AnalyseTone(s[:100], SampleRate, 1000, 440); st.Blocks != 0 || st.RMS == 0 {
		t.Errorf("100 samples: %+v", st)
	}
	if st := AnalyseTone(nil, SampleRate, 1000, 440); st != (ToneStats{}) {
		t.Errorf("no samples: %+v", st)
	}
	if d := DominantHz(nil, SampleRate); d != 0 {
		t.Errorf("DominantHz(nil) = %v", d)
	}
}

func TestToneSourceContinuousPhase(t *testing.T) {
	// Two 20 ms packets decode to the same samples as one 40 ms sine: the
	// phase carries across packets, or the tone would click every 20 ms.
	g := &ToneSource{Freq: 440, Amp: 8000}
	p := append(g.Next(), g.Next()...)
	for i, u := range p {
		want := UlawEncode(int16(8000 * math.Sin(2*math.Pi*440*float64(i)/SampleRate)))
		if u != want {
			t.Fatalf("sample %d: %#x, want %#x", i, u, want)
		}
	}
}
