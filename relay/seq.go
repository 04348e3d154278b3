package relay

import "encoding/binary"

// RFC 3550 Appendix A.1: a jump of more than MAX_DROPOUT ahead, or more
// than MAX_MISORDER behind, is not loss or reordering but a new sequence.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// seqMap keeps the RTP sequence numbers srtpgw sends upstream continuous
// when a phone restarts its sequence without changing SSRC (old handsets
// do on hold/resume). Without it the upstream's SRTP index would jump
// backwards, and the peer's replay window (RFC 3711 §3.3.2) would drop
// every packet as too old: one-way audio. A new SSRC is a new SRTP stream
// with its own rollover counter and needs no mapping.
//
// It is owned by the phone stream's read loop goroutine; nothing else
// touches it, so it needs no synchronisation.
type seqMap struct {
	init    bool
	ssrc    uint32
	lastIn  uint16 // highest sequence number received in this run
	lastOut uint16 // highest sequence number sent
	offset  uint16 // out = in + offset (mod 2^16)
}

// rewrite maps the sequence number of the RTP packet pkt in place.
func (m *seqMap) rewrite(pkt []byte) {
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	seq := binary.BigEndian.Uint16(pkt[2:4])
	if !m.init || ssrc != m.ssrc {
		*m = seqMap{init: true, ssrc: ssrc, lastIn: seq, lastOut: seq}
		return
	}
	if d := int16(seq - m.lastIn); d > maxDropout || d < -maxMisorder {
		// A restart: continue right after the last number sent.
		m.offset = m.lastOut + 1 - seq
		m.lastIn = seq
	} else if d > 0 {
		m.lastIn = seq
	}
	out := seq + m.offset
	if int16(out-m.lastOut) > 0 {
		m.lastOut = out
	}
	binary.BigEndian.PutUint16(pkt[2:4], out)
}
