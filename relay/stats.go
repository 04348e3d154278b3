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

// streamStats are the per-socket counters, published with atomics so that
// a snapshot needs no lock (DESIGN §3). The goroutine that owns the socket
// counts into pendStats without atomics and publishes them here in flush:
// after every packet on a goroutine-per-socket stream, once per batch or
// idle moment on a polled one. Everything is counted at the stream the
// packet arrived on: "forwarded" is what this stream sent on toward the
// other party.
type streamStats struct {
	inPackets  atomic.Uint64 // accepted from this socket's peer (source checked, authenticated)
	inBytes    atomic.Uint64
	rtcpIn     atomic.Uint64 // the RTCP share of inPackets
	rtcpBytes  atomic.Uint64 // the RTCP share of inBytes
	fwdPackets atomic.Uint64 // sent on toward the other party, as written
	fwdBytes   atomic.Uint64
	fwdRTCP    atomic.Uint64 // the RTCP share of fwdPackets
	fwdRTCPB   atomic.Uint64
	drops      [numDropReasons]atomic.Uint64
	lastRx     atomic.Int64 // unix nanos of the last accepted packet (coarse clock)
	ssrc       atomic.Uint32
}

// pendStats are counts not yet published; only the owning goroutine
// touches them.
type pendStats struct {
	in, inB, rtcp, rtcpB         uint64
	fwd, fwdB, fwdRTCP, fwdRTCPB uint64
	drops                        [numDropReasons]uint64
	dirty                        bool
}

// Counts is a plain copy of one stream's counters.
type Counts struct {
	InPackets, InBytes   uint64
	RTCPIn, RTCPBytes    uint64
	FwdPackets, FwdBytes uint64
	FwdRTCP, FwdRTCPB    uint64
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
	c.RTCPIn += o.RTCPIn
	c.RTCPBytes += o.RTCPBytes
	c.FwdPackets += o.FwdPackets
	c.FwdBytes += o.FwdBytes
	c.FwdRTCP += o.FwdRTCP
	c.FwdRTCPB += o.FwdRTCPB
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
		RTCPIn:     s.rtcpIn.Load(),
		RTCPBytes:  s.rtcpBytes.Load(),
		FwdPackets: s.fwdPackets.Load(),
		FwdBytes:   s.fwdBytes.Load(),
		FwdRTCP:    s.fwdRTCP.Load(),
		FwdRTCPB:   s.fwdRTCPB.Load(),
	}
	for i := range s.drops {
		c.Drops[i] = s.drops[i].Load()
	}
	return c
}

// publish adds p to s and clears p.
func (s *streamStats) publish(p *pendStats) {
	if !p.dirty {
		return
	}
	add := func(a *atomic.Uint64, v uint64) {
		if v != 0 {
			a.Add(v)
		}
	}
	add(&s.inPackets, p.in)
	add(&s.inBytes, p.inB)
	add(&s.rtcpIn, p.rtcp)
	add(&s.rtcpBytes, p.rtcpB)
	add(&s.fwdPackets, p.fwd)
	add(&s.fwdBytes, p.fwdB)
	add(&s.fwdRTCP, p.fwdRTCP)
	add(&s.fwdRTCPB, p.fwdRTCPB)
	for i, v := range p.drops {
		add(&s.drops[i], v)
	}
	*p = pendStats{}
}
