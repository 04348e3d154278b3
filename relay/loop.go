package relay

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/srtpgw/srtpgw/relay/udp"
)

// maxPacket is the largest datagram relayed. A read that fills the buffer
// may have been truncated by the kernel and is dropped as malformed.
const maxPacket = 2048

// scratchSize leaves room for the largest SRTP expansion (auth tag, SRTCP
// index) on top of maxPacket.
const scratchSize = maxPacket + 64

// A stream's socket is read one of two ways. With the batched poller
// (Linux, the daemon's default) a worker goroutine calls the udp.Receiver
// methods below for many sockets. Otherwise (the in-memory test network,
// or the poller switched off) one readLoop goroutine per socket does the
// same through process and publishes after every packet.
var _ udp.Receiver = (*Stream)(nil)

// Receive is udp.Receiver: one datagram from the poller.
func (s *Stream) Receive(pkt []byte, from netip.AddrPort, scratch []byte) ([]byte, udp.Conn, netip.AddrPort) {
	out, sink, to := s.process(pkt, from, scratch)
	if out == nil {
		return nil, nil, to
	}
	return out, sink.conn, to
}

// SendFailed is udp.Receiver: the poller could not send out.
func (s *Stream) SendFailed(out []byte) {
	p := &s.pend
	p.dirty = true
	p.drops[DropSendError]++
	if out[0] <= 3 {
		return // a STUN response was not counted as forwarded
	}
	p.fwd--
	p.fwdB -= uint64(len(out))
	if classify(out) == classRTCP {
		p.fwdRTCP--
		p.fwdRTCPB -= uint64(len(out))
	}
}

// Flush is udp.Receiver: publish the pending counters.
func (s *Stream) Flush() { s.stats.publish(&s.pend) }

// process runs handle for one datagram and counts the outcome. It returns
// what to send, or nil.
func (s *Stream) process(pkt []byte, from netip.AddrPort, scratch []byte) ([]byte, *Stream, netip.AddrPort) {
	if len(pkt) >= maxPacket {
		s.pend.dirty = true
		s.pend.drops[DropMalformed]++
		return nil, nil, from
	}
	out, sink, to, drop := s.handle(pkt, from, scratch)
	if drop != dropNone {
		s.pend.dirty = true
		s.pend.drops[drop]++
		return nil, nil, to
	}
	if out == nil || out[0] <= 3 {
		return out, sink, to // nothing, or a STUN response: control traffic, not media
	}
	p := &s.pend
	p.fwd++
	p.fwdB += uint64(len(out))
	if classify(out) == classRTCP { // SRTCP keeps the RTCP header in the clear
		p.fwdRTCP++
		p.fwdRTCPB += uint64(len(out))
	}
	return out, sink, to
}

// readLoop owns s's socket when it is not polled: it reads, processes,
// writes and publishes after every packet. It returns when the socket is
// closed.
func (s *Stream) readLoop() {
	defer close(s.done)
	defer s.Flush()
	buf := make([]byte, maxPacket)
	scratch := make([]byte, scratchSize)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient errors (e.g. ICMP feedback surfacing on Linux) do
			// not end the stream; a closed socket does.
			s.pend.dirty = true
			s.pend.drops[DropMalformed]++
			s.Flush()
			continue
		}
		out, sink, to := s.process(buf[:n], from, scratch)
		if out != nil {
			if _, err := sink.conn.WriteToUDPAddrPort(out, to); err != nil {
				s.SendFailed(out)
			}
		}
		s.Flush()
	}
}

// coarseClock is a clock read on the packet path: an atomic load instead of
// a time.Now call per packet. A ticker advances it; timeouts and "last
// packet" only need tens of milliseconds of precision.
type coarseClock struct {
	ns  atomic.Int64
	now func() time.Time
}

func newCoarseClock(now func() time.Time) *coarseClock {
	c := &coarseClock{now: now}
	c.tick()
	return c
}

func (c *coarseClock) tick() { c.ns.Store(c.now().UnixNano()) }

// nowNS returns the clock in unix nanos.
func (c *coarseClock) nowNS() int64 { return c.ns.Load() }
