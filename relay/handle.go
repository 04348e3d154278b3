package relay

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/srtpgw/srtpgw/crypto"
)

// pktClass is what the first bytes of a datagram say it is (RFC 7983 §7).
type pktClass uint8

const (
	classUnknown pktClass = iota
	classSTUN             // 0..3
	classDTLS             // 20..63
	classRTP              // 128..191, second byte not an RTCP type
	classRTCP             // 128..191, second byte 192..223 (RFC 5761 §4)
)

// Minimum sizes: the fixed RTP header (RFC 3550 §5.1) and an RTCP header
// plus the sender SSRC (RFC 3550 §6.4).
const (
	minRTP  = 12
	minRTCP = 8
)

// classify demultiplexes by the first byte as RFC 7983 (updating RFC 5764
// §5.1.2) prescribes, and RTP from RTCP by the packet type (RFC 5761 §4).
// Every other first byte — TURN channels, QUIC, ZRTP, garbage — is unknown
// and dropped: srtpgw relays none of them.
func classify(b []byte) pktClass {
	if len(b) == 0 {
		return classUnknown
	}
	switch b0 := b[0]; {
	case b0 <= 3:
		return classSTUN
	case b0 >= 20 && b0 <= 63:
		return classDTLS
	case b0 >= 128 && b0 <= 191:
		if len(b) < 2 {
			return classUnknown
		}
		if pt := b[1]; pt >= 192 && pt <= 223 {
			return classRTCP
		}
		return classRTP
	}
	return classUnknown
}

// route is how packets arriving on one stream leave: published atomically
// by the control plane when an answer completes, swapped whole on re-offer.
// It is chosen once per signalling event, not per packet (DESIGN §3).
type route struct {
	// learnUntil is the end of the phone-leg learning window, in the
	// coarse clock's unix nanos; 0 means strict source from the start.
	learnUntil int64
	// rtpOK and rtcpOK say which packet classes this socket may carry:
	// both on a multiplexed RTP socket (RFC 5761), one otherwise.
	rtpOK, rtcpOK bool
	rtp, rtcp     egress
}

// egress is the destination of one packet class.
type egress struct {
	sink    *Stream // socket to send on; its remote is the destination
	encrypt bool    // sink is a DTLS-SRTP leg: protect with sink's keys
}

// handle is the whole per-packet decision for a datagram that arrived on s
// from `from`. It does no I/O of its own: it returns the bytes to send
// (which may live in scratch), the stream whose socket sends them and the
// destination, or a drop
// reason. A nil out with no drop means the datagram was consumed (DTLS).
//
// The order of checks is the fail-closed order: classify, then source, then
// keys. Plain media reaches the upstream leg only through Encrypt*, and a
// DTLS-SRTP leg forwards only what authenticated.
func (s *Stream) handle(pkt []byte, from netip.AddrPort, scratch []byte) (out []byte, sink *Stream, to netip.AddrPort, drop DropReason) {
	class := classify(pkt)
	switch class {
	case classDTLS:
		if !s.secure || !s.feedDTLS(pkt, from) {
			return nil, nil, to, DropDTLS
		}
		return nil, nil, to, dropNone
	case classRTP:
		if len(pkt) < minRTP {
			return nil, nil, to, DropMalformed
		}
	case classRTCP:
		if len(pkt) < minRTCP {
			return nil, nil, to, DropMalformed
		}
	case classSTUN:
		// STUN is only meaningful where srtpgw runs ICE (WebRTC legs).
		ice := s.ice.Load()
		if ice == nil {
			return nil, nil, to, DropMalformed
		}
		resp, res := ice.handle(pkt, from, s.clock.nowNS(), scratch)
		switch res {
		case checkRejected:
			return nil, nil, to, DropICE
		case checkFirst:
			s.media.leg.call.log.Debug("first valid ICE check", "media", s.media.index, "component", s.component,
				"from", from.String())
		case checkIgnored:
			return nil, nil, to, dropNone
		case checkNominated:
			s.nominate(from)
		}
		return resp, s, from, dropNone
	default:
		return nil, nil, to, DropMalformed
	}
	r := s.route.Load()
	if r == nil {
		return nil, nil, to, DropNoRoute
	}
	if (class == classRTP && !r.rtpOK) || (class == classRTCP && !r.rtcpOK) {
		return nil, nil, to, DropMalformed
	}
	body := pkt
	if s.secure {
		sess := s.session.Load()
		if sess == nil {
			return nil, nil, to, DropNoKeys
		}
		var err error
		if class == classRTP {
			body, err = sess.DecryptRTP(scratch[:0], pkt)
		} else {
			body, err = sess.DecryptRTCP(scratch[:0], pkt)
		}
		if err != nil {
			return nil, nil, to, cryptoDrop(err)
		}
		// The peer just proved it holds the keys: its handshake is done,
		// so the DTLS association can let go of its state for the rest
		// of the call (crypto.Endpoint.Retire).
		if ep := s.endpoint.Load(); ep != nil && ep != s.retired {
			s.retired = ep
			go ep.Retire()
		}
		// Only a packet that authenticated may move the remote address
		// (DESIGN §3): SRTP authentication is the proof of the peer. On
		// an ICE leg the address must also have passed a check (RFC 8445
		// §7.3: a pair is used only once validated).
		if rem := s.remote.Load(); rem == nil || *rem != from {
			if ice := s.ice.Load(); (ice == nil || ice.validated(from)) && s.mayMoveTo(from) {
				s.relatch(from)
			}
		}
	} else if rem := s.remote.Load(); rem == nil || *rem != from {
		if !s.learn(r, from) {
			return nil, nil, to, DropRogueSource
		}
	}

	// The packet came from the legitimate peer: count it as received,
	// as rtpengine does, whether or not it can be forwarded (b.7).
	s.received(class, pkt, body)

	eg := &r.rtp
	if class == classRTCP {
		eg = &r.rtcp
	}
	sink = eg.sink
	if sink == nil {
		return nil, nil, to, DropNoRoute
	}
	to = sink.Remote()
	if !to.IsValid() {
		return nil, nil, to, DropNoRoute
	}
	if ice := sink.ice.Load(); ice != nil && !ice.consented(s.clock.nowNS()) {
		return nil, nil, to, DropNoConsent
	}
	out = body
	if sink.secure && !eg.encrypt {
		// Unreachable by construction (routes encrypt toward every
		// DTLS-SRTP leg); checked at the last point before the socket
		// so that srtpgw_upstream_plaintext_packets_total proves it.
		upstreamPlaintext.Add(1)
		return nil, nil, to, DropNoKeys
	}
	if eg.encrypt {
		sess := sink.session.Load()
		if sess == nil {
			// Fail closed: before the upstream keys exist, phone media is
			// dropped, never sent in the clear.
			return nil, nil, to, DropNoKeys
		}
		var err error
		if class == classRTP {
			s.seq.rewrite(body) // body is pkt here: plain ingress, owned by this loop
			out, err = sess.EncryptRTP(scratch[:0], body)
		} else {
			out, err = sess.EncryptRTCP(scratch[:0], body)
		}
		if err != nil {
			return nil, nil, to, cryptoDrop(err)
		}
	}
	return out, sink, to, dropNone
}

// learn decides whether a plain-leg packet from an unexpected source may
// latch. Only inside the learning window, and only from the signalled host
// (a NAT or a phone that changes its source port): another host never takes
// over a phone's stream (RTP Bleed, security requirement A1).
func (s *Stream) learn(r *route, from netip.AddrPort) bool {
	if r.learnUntil == 0 || s.clock.nowNS() > r.learnUntil {
		return false
	}
	rem := s.remote.Load()
	if rem != nil && rem.IsValid() && rem.Addr() != from.Addr() {
		return false
	}
	s.setRemote(from)
	return true
}

// relatch moves a DTLS-SRTP stream to a new peer address after a packet
// from it authenticated. Rare: it allocates, the packet path otherwise
// does not.
func (s *Stream) relatch(from netip.AddrPort) {
	s.setRemote(from)
	if ep := s.endpoint.Load(); ep != nil {
		ep.SetPeer(from)
	}
}

// cryptoDrop maps the crypto package's sentinel errors to drop reasons
// without allocating.
func cryptoDrop(err error) DropReason {
	switch {
	case errors.Is(err, crypto.ErrReplay):
		return DropReplay
	case errors.Is(err, crypto.ErrAuth):
		return DropAuth
	case errors.Is(err, crypto.ErrKeyExhausted):
		return DropKeyLimit
	default:
		return DropMalformed
	}
}

// received counts a datagram accepted from the stream's peer, in the
// pending counters the owning goroutine publishes in batches. lastRx and
// the SSRC are published at once but written only when they change (an
// atomic store is a locked instruction on amd64; the coarse clock moves
// every 100 ms, the SSRC almost never).
func (s *Stream) received(class pktClass, pkt, body []byte) {
	p := &s.pend
	p.dirty = true
	p.in++
	p.inB += uint64(len(pkt))
	st := &s.stats
	if now := s.clock.nowNS(); st.lastRx.Load() != now {
		st.lastRx.Store(now)
	}
	if class == classRTCP {
		p.rtcp++
		p.rtcpB += uint64(len(pkt))
	} else if ssrc := binary.BigEndian.Uint32(body[8:12]); st.ssrc.Load() != ssrc {
		st.ssrc.Store(ssrc)
	}
}
