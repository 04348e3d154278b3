package interop

// Tones prove that audio crossed the relay: each side of a call sends its
// own frequency and checks that it heard the *other* one, so a loop back
// cannot pass. Detection is the Goertzel algorithm on 20 ms blocks.

import "math"

// PtimeSamples is one 20 ms packet at 8 kHz.
const PtimeSamples = SampleRate / 50

// ToneSource produces consecutive 20 ms PCMU payloads of a sine tone with a
// continuous phase across packets.
type ToneSource struct {
	Freq, Amp float64 // Hz, linear amplitude (full scale 32767)
	n         int     // samples produced so far
}

// Next returns the next 20 ms payload.
func (g *ToneSource) Next() []byte {
	p := make([]byte, PtimeSamples)
	for i := range p {
		s := g.Amp * math.Sin(2*math.Pi*g.Freq*float64(g.n)/SampleRate)
		p[i] = UlawEncode(int16(s))
		g.n++
	}
	return p
}

// Goertzel returns the amplitude of freq in s, scaled so a full-length sine
// of amplitude A gives about A/2.
func Goertzel(s []int16, freq float64, rate int) float64 {
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

// ToneStats summarises how much of a recording carries a tone.
type ToneStats struct {
	Blocks     int     // 20 ms blocks examined
	ToneBlocks int     // blocks where the tone dominates and is loud
	RMS        float64 // over the whole recording
}

// AnalyseTone counts 20 ms blocks in which freq is at least 10x stronger
// than other, with enough energy to be more than noise or comfort noise.
func AnalyseTone(s []int16, rate int, freq, other float64) ToneStats {
	var st ToneStats
	var sum float64
	for _, x := range s {
		sum += float64(x) * float64(x)
	}
	if len(s) > 0 {
		st.RMS = math.Sqrt(sum / float64(len(s)))
	}
	block := rate / 50
	for off := 0; block > 0 && off+block <= len(s); off += block {
		b := s[off : off+block]
		st.Blocks++
		f, o := Goertzel(b, freq, rate), Goertzel(b, other, rate)
		if f > 500 && f > 10*o {
			st.ToneBlocks++
		}
	}
	return st
}

// DominantHz returns the strongest frequency between 100 and 3900 Hz on a
// 10 Hz grid, over at most the last second of s, which keeps the scan cheap
// (380 Goertzel runs over 8000 samples). It returns 0 for no samples.
func DominantHz(s []int16, rate int) float64 {
	tail := s[len(s)-min(len(s), rate):]
	best, hz := 0.0, 0.0
	for f := 100.0; f < 3900 && len(tail) > 0; f += 10 {
		if a := Goertzel(tail, f, rate); a > best {
			best, hz = a, f
		}
	}
	return hz
}
