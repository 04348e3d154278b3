package relay

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/udp"
)

// Stream is one socket of one media of one leg: component 1 carries RTP (and
// RTCP when muxed), component 2 carries RTCP. One goroutine, readLoop, owns
// the socket's reads and its buffers.
//
// Lock rules: the fields above the line are set before readLoop starts and
// never change. The atomics are how the control plane publishes state to
// the packet path (DESIGN §3): a route, a remote address, SRTP keys. Nothing
// on the packet path takes a lock; earlyMu guards only the DTLS records that
// arrive before the handshake exists.
type Stream struct {
	media      *Media
	component  int // 1 = RTP, 2 = RTCP
	conn       udp.Conn
	local      netip.AddrPort
	advertised netip.AddrPort
	secure     bool // DTLS-SRTP leg: decrypt ingress, DTLS runs here
	polled     bool // read by a udp.Poller worker, not a readLoop goroutine
	clock      *coarseClock
	done       chan struct{} // closed when readLoop returns
	// ------------------------------------------------------------------

	route    atomic.Pointer[route]
	ice      atomic.Pointer[iceStream]      // ICE-lite state on WebRTC legs, else nil
	pending  atomic.Pointer[handshakeStart] // DTLS waiting for ICE nomination
	remote   atomic.Pointer[netip.AddrPort] // expected source and destination
	session  atomic.Pointer[crypto.Session] // this component's SRTP keys
	endpoint atomic.Pointer[crypto.Endpoint]
	stats    streamStats

	earlyMu sync.Mutex
	early   []earlyRecord

	// seq keeps upstream sequence numbers continuous across phone
	// restarts, pend holds counts not yet published into stats, retired
	// remembers which DTLS association was retired; only the goroutine
	// that reads the socket touches them.
	seq     seqMap
	pend    pendStats
	retired *crypto.Endpoint // the association already told to Retire

	// dtlsIdentity names what the current handshake was started for (role,
	// fingerprints, peer); guarded by Relay.mu. A re-answer that changes
	// it starts a new DTLS association (RFC 8842 §5).
	dtlsIdentity string
}

// earlyRecord is a DTLS datagram that arrived before the handshake was set
// up: the answerer may start DTLS as soon as it has our offer, before its
// answer reaches us through the SIP proxy.
type earlyRecord struct {
	b    []byte
	from netip.AddrPort
}

// maxEarlyRecords bounds the per-stream backlog of early DTLS records: a
// ClientHello may span a few datagrams (DESIGN §11), an attacker's spray may
// not grow memory.
const maxEarlyRecords = 8

func newStream(m *Media, component int, conn udp.Conn, advertised netip.Addr, secure bool, clock *coarseClock) *Stream {
	local := udp.LocalAddrPort(conn)
	return &Stream{
		media:      m,
		component:  component,
		conn:       conn,
		local:      local,
		advertised: netip.AddrPortFrom(advertised, local.Port()),
		secure:     secure,
		clock:      clock,
		done:       make(chan struct{}),
	}
}

// Remote returns the current remote address (zero if unknown).
func (s *Stream) Remote() netip.AddrPort {
	if p := s.remote.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

func (s *Stream) setRemote(a netip.AddrPort) {
	if cur := s.remote.Load(); cur != nil && *cur == a {
		return
	}
	s.remote.Store(&a)
}

// feedDTLS hands a DTLS record to the handshake, or keeps it until the
// handshake exists. It reports whether the record was accepted.
func (s *Stream) feedDTLS(b []byte, from netip.AddrPort) bool {
	if ep := s.endpoint.Load(); ep != nil {
		return ep.Feed(b, from)
	}
	s.earlyMu.Lock()
	defer s.earlyMu.Unlock()
	if ep := s.endpoint.Load(); ep != nil { // raced with startDTLS
		return ep.Feed(b, from)
	}
	if len(s.early) >= maxEarlyRecords || len(b) > maxPacket {
		return false
	}
	s.early = append(s.early, earlyRecord{b: append([]byte(nil), b...), from: from})
	return true
}

// attachEndpoint publishes a handshake endpoint and replays the early
// records into it; Feed itself discards those from the wrong peer.
func (s *Stream) attachEndpoint(ep *crypto.Endpoint) {
	s.earlyMu.Lock()
	s.endpoint.Store(ep)
	early := s.early
	s.early = nil
	s.earlyMu.Unlock()
	for _, r := range early {
		if !ep.Feed(r.b, r.from) {
			s.stats.drops[DropDTLS].Add(1)
		}
	}
}

// closeEndpoint detaches and closes the current handshake endpoint, if any.
func (s *Stream) closeEndpoint() {
	s.earlyMu.Lock()
	ep := s.endpoint.Swap(nil)
	s.earlyMu.Unlock()
	if ep != nil {
		ep.Close()
	}
}

// send writes a datagram on this stream's socket; the DTLS handshake uses it.
func (s *Stream) send(b []byte, to netip.AddrPort) error {
	_, err := s.conn.WriteToUDPAddrPort(b, to)
	return err
}

// nominate makes from the stream's peer after the controlling ICE agent
// nominated it with a valid check (RFC 8445 §8.1.1): media and DTLS go
// there, and a handshake that was waiting for a peer starts now.
func (s *Stream) nominate(from netip.AddrPort) {
	if cur := s.remote.Load(); cur != nil && *cur == from {
		return
	}
	if !s.mayMoveTo(from) {
		return
	}
	s.media.leg.call.log.Debug("ICE pair nominated", "media", s.media.index, "component", s.component,
		"local", s.local.String(), "remote", from.String())
	s.setRemote(from)
	if ep := s.endpoint.Load(); ep != nil {
		ep.SetPeer(from)
	}
	if st := s.pending.Swap(nil); st != nil {
		st.cfg.Peer = from
		r := st.call.relay
		r.wg.Add(1) // the read loop itself is counted, so this cannot race Wait
		go func() {
			defer r.wg.Done()
			r.startHandshake(*st)
		}()
	}
}

// mayMoveTo reports whether the upstream networks allow the stream's peer
// to move to a (rare: latching and ICE nomination only).
func (s *Stream) mayMoveTo(a netip.AddrPort) bool {
	return allowed(s.media.leg.call.relay.cfg.UpstreamNetworks, a.Addr())
}
