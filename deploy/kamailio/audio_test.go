package kamailio

// Audio helpers for the interop harness: each user agent sends its own tone
// (aufile source), baresip's sndfile filter records what it decoded, and the
// test checks that the *other* side's tone arrived. A distinct frequency per
// direction proves the audio crossed the relay rather than looping back.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

const sampleRate = 8000 // PCMU/PCMA clock rate (RFC 3551 s4.5.14)

// toneWAV returns a mono 16-bit PCM WAV of a sine tone.
func toneWAV(freq float64, seconds int) []byte {
	n := sampleRate * seconds
	data := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		s := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/sampleRate))
		binary.LittleEndian.PutUint16(data[2*i:], uint16(s))
	}
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(sampleRate))
	le(uint32(2 * sampleRate))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// readWAV returns the samples and rate of a mono or stereo 16-bit PCM WAV
// (first channel only). The data chunk may claim a wrong size when the writer
// was stopped before closing the file, so a short or zero size means "to end
// of file".
func readWAV(b []byte) ([]int16, int, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("wav: not RIFF/WAVE")
	}
	var rate, channels, bits int
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, errors.New("wav: short fmt chunk")
			}
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 || channels < 1 {
				return nil, 0, errors.New("wav: want 16-bit PCM after a fmt chunk")
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			frame := 2 * channels
			out := make([]int16, size/frame)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(body[i*frame:]))
			}
			return out, rate, nil
		}
		if size > len(body) {
			break
		}
		off += 8 + size + size&1
	}
	return nil, 0, errors.New("wav: no data chunk")
}

// ulawDecode expands one G.711 mu-law byte to linear PCM (ITU-T G.711).
func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
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
}

// analyseTone counts 20 ms blocks in which freq is at least 10x stronger
// than other, with enough energy to be more than noise or comfort noise.
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
	return st
}

func TestToneWAVRoundTrip(t *testing.T) {
	s, rate, err := readWAV(toneWAV(800, 1))
	if err != nil {
		t.Fatal(err)
	}
	if rate != sampleRate || len(s) != sampleRate {
		t.Fatalf("rate %d, %d samples", rate, len(s))
	}
	st := analyseTone(s, rate, 800, 1400)
	if st.toneBlocks != st.blocks || st.blocks != 50 {
		t.Errorf("800 Hz: %d of %d blocks, want 50 of 50", st.toneBlocks, st.blocks)
	}
	if st := analyseTone(s, rate, 1400, 800); st.toneBlocks != 0 {
		t.Errorf("1400 Hz detected in an 800 Hz tone: %d blocks", st.toneBlocks)
	}
	if st.rms < 5000 || st.rms > 6000 { // 8000/sqrt(2)
		t.Errorf("rms %.0f, want about 5657", st.rms)
	}
}

func TestReadWAVUnfinishedHeader(t *testing.T) {
	w := toneWAV(1000, 1)
	binary.LittleEndian.PutUint32(w[40:], 0) // writer killed before fixing sizes
	s, _, err := readWAV(w)
	if err != nil || len(s) != sampleRate {
		t.Fatalf("got %d samples, %v", len(s), err)
	}
	if _, _, err := readWAV([]byte("RIFX")); err == nil {
		t.Error("bad magic accepted")
	}
}

func TestUlawDecode(t *testing.T) {
	// Reference points of ITU-T G.711 table 2a (decoder output, 14-bit
	// values shifted to 16-bit).
	tests := []struct {
		in   byte
		want int16
	}{
		{0xff, 0},
		{0x7f, 0},
		{0x80, 32124},
		{0x00, -32124},
		{0xf0, 120},
		{0x70, -120},
	}
	for _, tt := range tests {
		if got := ulawDecode(tt.in); got != tt.want {
			t.Errorf("ulawDecode(%#x) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
