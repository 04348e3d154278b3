package interop

// G.711 µ-law (ITU-T G.711 §3.2), the PCMU payload both harnesses' phones
// send (RFC 3551 §4.5.14).

import "math/bits"

// SampleRate is the PCMU/PCMA clock rate (RFC 3551 §4.5.14).
const SampleRate = 8000

// UlawEncode compresses one linear sample to G.711 µ-law: bias 0x84,
// segment = position of the top bit, bits inverted.
func UlawEncode(s int16) byte {
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

// UlawDecode expands one G.711 µ-law byte to linear PCM.
func UlawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// AppendUlaw decodes a µ-law payload and appends the samples to dst.
func AppendUlaw(dst []int16, payload []byte) []int16 {
	for _, u := range payload {
		dst = append(dst, UlawDecode(u))
	}
	return dst
}
