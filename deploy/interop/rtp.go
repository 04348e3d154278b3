package interop

// Just enough RTP (RFC 3550 §5.1) to find a packet's payload.

import "encoding/binary"

// RTPPayload returns the payload of an RTP packet after the fixed header,
// CSRCs and header extension (RFC 3550 §5.1, §5.3.1). Padding is left in
// place: for SRTP it is encrypted, and the payload returned is the
// ciphertext followed by the authentication tag (RFC 3711 §3.1).
func RTPPayload(p []byte) ([]byte, bool) {
	if len(p) < 12 || p[0]>>6 != 2 {
		return nil, false
	}
	n := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 {
		if len(p) < n+4 {
			return nil, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(p[n+2:]))
	}
	if n > len(p) {
		return nil, false
	}
	return p[n:], true
}

// RTPPayloadType returns the 7-bit payload type of an RTP header of at
// least 2 bytes.
func RTPPayloadType(p []byte) uint8 { return p[1] & 0x7f }

// DecodePCMU returns the samples of the plain payload-type-0 RTP packets in
// pkts, in arrival order (the relay does not reorder on loopback), with
// padding removed (RFC 3550 §5.1), and how many packets it used.
func DecodePCMU(pkts [][]byte) (samples []int16, packets int) {
	for _, p := range pkts {
		pl, ok := RTPPayload(p)
		if !ok || RTPPayloadType(p) != 0 {
			continue
		}
		if p[0]&0x20 != 0 && len(pl) > 0 {
			pad := int(pl[len(pl)-1])
			if pad > len(pl) {
				continue
			}
			pl = pl[:len(pl)-pad]
		}
		packets++
		samples = AppendUlaw(samples, pl)
	}
	return samples, packets
}
