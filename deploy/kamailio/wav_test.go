package kamailio

// WAV files for baresip: each user agent sends its own tone (aufile source),
// baresip's sndfile filter records what it decoded, and the test checks that
// the *other* side's tone arrived (interop.AnalyseTone). A distinct frequency
// per direction proves the audio crossed the relay rather than looping back.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

// toneWAV returns a mono 16-bit PCM WAV of a sine tone.
func toneWAV(freq float64, seconds int) []byte {
	n := interop.SampleRate * seconds
	data := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		s := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/interop.SampleRate))
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
	le(uint32(interop.SampleRate))
	le(uint32(2 * interop.SampleRate))
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

func TestToneWAVRoundTrip(t *testing.T) {
	s, rate, err := readWAV(toneWAV(800, 1))
	if err != nil {
		t.Fatal(err)
	}
	if rate != interop.SampleRate || len(s) != interop.SampleRate {
		t.Fatalf("rate %d, %d samples", rate, len(s))
	}
	st := interop.AnalyseTone(s, rate, 800, 1400)
	if st.ToneBlocks != st.Blocks || st.Blocks != 50 {
		t.Errorf("800 Hz: %d of %d blocks, want 50 of 50", st.ToneBlocks, st.Blocks)
	}
	if st := interop.AnalyseTone(s, rate, 1400, 800); st.ToneBlocks != 0 {
		t.Errorf("1400 Hz detected in an 800 Hz tone: %d blocks", st.ToneBlocks)
	}
	if st.RMS < 5000 || st.RMS > 6000 { // 8000/sqrt(2)
		t.Errorf("rms %.0f, want about 5657", st.RMS)
	}
}

func TestReadWAVUnfinishedHeader(t *testing.T) {
	w := toneWAV(1000, 1)
	binary.LittleEndian.PutUint32(w[40:], 0) // writer killed before fixing sizes
	s, _, err := readWAV(w)
	if err != nil || len(s) != interop.SampleRate {
		t.Fatalf("got %d samples, %v", len(s), err)
	}
	if _, _, err := readWAV([]byte("RIFX")); err == nil {
		t.Error("bad magic accepted")
	}
}
