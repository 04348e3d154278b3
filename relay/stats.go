package relay

import "sync/atomic"

// DropReason says why the packet path discarded a datagram. The packet path
// has no errors, only counted drops (DESIGN §8); each reason is a metric
// label value and an audit field, so the set is small and fixed.
type DropReason uint8

// Drop reasons. Keep dropReasonNames in step.
const (
	dropNone        DropReason = iota
	DropMalformed              // not RTP/RTCP/DTLS by first byte (RFC 7983), or too short
	DropRogueSource            // from an address other than the signalled/latched peer
	DropNoKeys                 // DTLS-SRTP keys not there yet: fail closed, never forward plain
	DropAuth                   // SRTP/SRTCP authentication failed
	DropReplay                 // SRTP/SRTCP replay window rejected it
	DropNoRoute                // no destination yet (offer not answered, peer unknown)
	DropDTLS                   // DTLS record refused (wrong source, queue full, unexpected)
	DropKeyLimit               // SRTP key exhausted (RFC 3711 §9.2); the call must rekey or end
	DropSendError              // the egress socket write failed
	DropICE                    // STUN that is not a valid check for us (RFC 8445 §7.3)
	DropNoConsent              // the ICE peer's consent expired (RFC 7675): media stops
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropNone:        "none",
	DropMalformed:   "malformed",
	DropRogueSource: "rogue_source",
	DropNoKeys:      "no_keys",
	DropAuth:        "auth",
	DropReplay:      "replay",
	DropNoRoute:     "no_route",
	DropDTLS:        "dtls_rejected",
	DropKeyLimit:    "key_limit",
	DropSendError:   "send_error",
	DropICE:         "ice_rejected",
	DropNoConsent:   "no_consent",
}

func (d DropReason) String() string {
	if d < numDropReasons {
		return dropReasonNames[d]
	}
	return "unknown"
}

// DropReasons lists every reason, for metrics that want all label values
// present from the first scrape.
func DropReasons() []DropReason {
	out := make([]DropReason, 0, numDropReasons-1)
	for d := DropMalformed; d < numDropReasons; d++ {
		out = append(out, d)
	}
	return out
}

// streamStats are the per-socket counters. Only the goroutine that owns the
// socket (and, for tx, the goroutine of the peer stream that writes through
// it) updates them, with atomics, so a snapshot needs no lock and the packet
// path takes none (DESIGN §3).
type streamStats struct {
	inPackets  atomic.Uint64 // accepted from this socket's peer (source checked, authenticated)
	inBytes    atomic.Uint64
	outPackets atomic.Uint64 // relayed: written to this socket's peer
	outBytes   atomic.Uint64
	outRTCP    atomic.Uint64 // the RTCP share of outPackets
	outRTCPB   atomic.Uint64 // the RTCP share of outBytes
	rtcpIn     atomic.Uint64 // the RTCP share of inPackets
	rtcpBytes  atomic.Uint64 // the RTCP share of inBytes
	drops      [numDropReasons]atomic.Uint64
	lastRx     atomic.Int64 // unix nanos of the last accepted packet (coarse clock)
	ssrc       atomic.Uint32
}

// Counts is a plain copy of one stream's counters.
type Counts struct {
	InPackets, InBytes   uint64
	OutPackets, OutBytes uint64
	OutRTCP, OutRTCPB    uint64
	RTCPIn, RTCPBytes    uint64
	Drops                [numDropReasons]uint64
}

// DropTotal sums every drop reason.
func (c *Counts) DropTotal() uint64 {
	var n uint64
	for _, d := range c.Drops {
		n += d
	}
	return n
}

// Add accumulates o into c.
func (c *Counts) Add(o *Counts) {
	c.InPackets += o.InPackets
	c.InBytes += o.InBytes
	c.OutPackets += o.OutPackets
	c.OutBytes += o.OutBytes
	c.OutRTCP += o.OutRTCP
	c.OutRTCPB += o.OutRTCPB
	c.RTCPIn += o.RTCPIn
	c.RTCPBytes += o.RTCPBytes
	for i := range c.Drops {
		c.Drops[i] += o.Drops[i]
	}
}

// DropMap returns the non-zero drop counters keyed by reason name.
func (c *Counts) DropMap() map[string]uint64 {
	m := map[string]uint64{}
	for i, n := range c.Drops {
		if n != 0 {
			m[DropReason(i).String()] = n
		}
	}
	return m
}

func (s *streamStats) snapshot() Counts {
	c := Counts{
		InPackets:  s.inPackets.Load(),
		InBytes:    s.inBytes.Load(),
		OutPackets: s.outPackets.Load(),
		OutBytes:   s.outBytes.Load(),
		OutRTCP:    s.outRTCP.Load(),
		OutRTCPB:   s.outRTCPB.Load(),
		RTCPIn:     s.rtcpIn.Load(),
		RTCPBytes:  s.rtcpBytes.Load(),
	}
	for i := range s.drops {
		c.Drops[i] = s.drops[i].Load()
	}
	return c
}
