package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"iter"
	"log/slog"
	"net/netip"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/udp"
)

// Call is one SIP call (one call-id) relayed between two parties. legs[0]
// is the party that sent the first offer, legs[1] the one that answered.
// Exactly one leg is plain RTP (the phone) and one DTLS-SRTP (upstream).
//
// Lock rule: every field is guarded by Relay.mu. The packet path never
// touches a Call; it reads only its Streams' atomics.
type Call struct {
	relay      *Relay
	id         string
	uid        string
	created    time.Time
	lastSignal time.Time
	legs       [2]*Leg
	cert       *crypto.Certificate // this call's certificate, for its whole life

	answered   bool
	answeredAt time.Time
	offerFrom  int       // leg index whose offer awaits an answer, -1 if none
	deleteAt   time.Time // non-zero once deleted with a delay
	ended      bool

	ctx    context.Context // cancelled when the call ends: stops handshakes
	cancel context.CancelFunc
	log    *slog.Logger

	sec securityState
}

// Leg is one party of a call: its tag, the interface srtpgw faces it on,
// its transport, and one Media per m= line.
type Leg struct {
	call      *Call
	idx       int
	tag       string
	label     string
	viaBranch string
	iface     *Interface
	pool      *udp.Pool
	transport Transport
	medias    []*Media
	sdp       sdpOut // the SDP srtpgw last produced for this party
	created   time.Time
	// ice: srtpgw runs ICE-lite toward this party (ng ICE=force), with
	// these credentials for the call's life.
	ice      bool
	iceCreds iceCreds
}

// Media is one m= line of one party, anchored on one RTP/RTCP port pair.
type Media struct {
	leg      *Leg
	index    int // 1-based
	typ      string
	codec    string
	rtp      *Stream
	rtcp     *Stream
	port     uint16 // RTP port of the pair, to return to the pool
	disabled bool   // port 0 in the party's SDP (RFC 3264 §6)
	hold     bool
	mux      bool // negotiated: this party sends RTCP on the RTP port
	offerMux bool // srtpgw offered rtcp-mux to this party
	onlyMux  bool // ...and required it: no fallback RTCP port offered
	peerMux  bool // this party offered rtcp-mux to srtpgw

	// DTLS-SRTP toward this party (secure legs only).
	peerICE      bool   // the party's SDP carries ICE (a=ice-ufrag, candidates)
	setupRemote  string // the party's a=setup
	role         crypto.Role
	fingerprints []crypto.Fingerprint
}

// secure reports whether the leg is DTLS-SRTP (the upstream).
func (l *Leg) secure() bool { return l.transport.DTLS() }

// other returns the other party.
func (l *Leg) other() *Leg { return l.call.legs[1-l.idx] }

// rtcpSink is where RTCP for this party is sent from: the RTP socket when
// the party multiplexes (RFC 5761), else the RTCP socket.
func (m *Media) rtcpSink() *Stream {
	if m.mux {
		return m.rtp
	}
	return m.rtcp
}

// streams returns the media's streams.
func (m *Media) streams() [2]*Stream { return [2]*Stream{m.rtp, m.rtcp} }

func newUID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// legByTag finds the party with tag, or nil.
func (c *Call) legByTag(tag string) *Leg {
	for _, l := range c.legs {
		if l != nil && l.tag != "" && l.tag == tag {
			return l
		}
	}
	return nil
}

// phoneAndUpstream returns the plain leg and the DTLS-SRTP leg.
func (c *Call) phoneAndUpstream() (phone, upstream *Leg) {
	if c.legs[0].secure() {
		return c.legs[1], c.legs[0]
	}
	return c.legs[0], c.legs[1]
}

// recordLocked builds the parties record for events. Relay.mu must be held.
func (c *Call) recordLocked() CallRecord {
	rec := CallRecord{
		UID:       c.uid,
		CallID:    c.id,
		FromTag:   c.legs[0].tag,
		ToTag:     c.legs[1].tag,
		FromLabel: c.legs[0].label,
		ToLabel:   c.legs[1].label,
		Created:   c.created,
	}
	phone, up := c.phoneAndUpstream()
	rec.Phone, rec.PhoneLocal = phone.addrs()
	rec.Upstream, rec.UpstreamLocal = up.addrs()
	return rec
}

// addrs returns the party's first RTP address and srtpgw's sockets facing it.
func (l *Leg) addrs() (remote netip.AddrPort, local []netip.AddrPort) {
	for i, m := range l.medias {
		if i == 0 {
			remote = m.rtp.Remote()
		}
		local = append(local, m.rtp.local)
		if !m.mux {
			local = append(local, m.rtcp.local)
		}
	}
	return remote, local
}

// endRecordLocked sums the call's streams into per-direction traffic.
func (c *Call) endRecordLocked(reason EndReason, end time.Time) EndRecord {
	phone, up := c.phoneAndUpstream()
	e := EndRecord{Start: c.created, End: end, Reason: reason, Answered: c.answered}
	e.PhoneToUpstream = direction(phone)
	e.UpstreamToPhone = direction(up)
	return e
}

// direction sums what arrived from the party of leg from and what was
// forwarded on toward the other party (counted where it arrived).
func direction(from *Leg) Direction {
	var in Counts
	for _, m := range from.medias {
		for _, s := range m.streams() {
			c := s.stats.snapshot()
			in.Add(&c)
		}
	}
	return Direction{
		Received:  in.InPackets,
		Bytes:     in.InBytes,
		Forwarded: in.FwdPackets,
		FwdBytes:  in.FwdBytes,
		Drops:     in.DropMap(),
	}
}

// allStreams lists every stream of the call.
func (c *Call) allStreams() iter.Seq[*Stream] {
	// An iterator rather than a slice: the reaper walks every call's
	// streams every tick, and a slice per call per tick was the daemon's
	// largest steady-state allocation after the poller's.
	return func(yield func(*Stream) bool) {
		for _, l := range c.legs {
			if l == nil {
				continue
			}
			for _, m := range l.medias {
				if !yield(m.rtp) || !yield(m.rtcp) {
					return
				}
			}
		}
	}
}

// lastActivity is the later of the last signalling and the last accepted
// packet on any stream, in unix nanos.
func (c *Call) lastActivity() int64 {
	last := c.lastSignal.UnixNano()
	for s := range c.allStreams() {
		if t := s.stats.lastRx.Load(); t > last {
			last = t
		}
	}
	return last
}

// quietestLeg is the older of the two parties' last activity (the last
// signalling, or the last packet accepted from that party), in unix nanos.
func (c *Call) quietestLeg() int64 {
	oldest := int64(0)
	for i, l := range c.legs {
		last := c.lastSignal.UnixNano()
		for _, m := range l.medias {
			for _, s := range m.streams() {
				if t := s.stats.lastRx.Load(); t > last {
					last = t
				}
			}
		}
		if i == 0 || last < oldest {
			oldest = last
		}
	}
	return oldest
}

// keyLimitHit reports whether any stream ran an SRTP key to its limit.
func (c *Call) keyLimitHit() bool {
	for s := range c.allStreams() {
		if s.stats.drops[DropKeyLimit].Load() > 0 {
			return true
		}
	}
	return false
}

// onHold reports whether every enabled media of either party is on hold.
func (c *Call) onHold() bool {
	for _, l := range c.legs {
		held, any := true, false
		for _, m := range l.medias {
			if m.disabled {
				continue
			}
			any = true
			held = held && m.hold
		}
		if any && held {
			return true
		}
	}
	return false
}

// setRemotes points media m's streams at the party's signalled addresses.
func (m *Media) setRemotes(rtp, rtcp netip.AddrPort) {
	if rtp.IsValid() {
		m.rtp.setRemote(rtp)
	}
	if rtcp.IsValid() {
		m.rtcp.setRemote(rtcp)
	}
}
