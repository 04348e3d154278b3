package relay

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// maxPacket is the largest datagram relayed. A read that fills the buffer
// may have been truncated by the kernel and is dropped as malformed.
const maxPacket = 2048

// scratchSize leaves room for the largest SRTP expansion (auth tag, SRTCP
// index) on top of maxPacket.
const scratchSize = maxPacket + 64

// readLoop owns s's socket: it reads, lets handle decide, and writes. It
// returns when the socket is closed.
func (s *Stream) readLoop() {
	defer close(s.done)
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
			s.stats.drops[DropMalformed].Add(1)
			continue
		}
		if n >= maxPacket {
			s.stats.drops[DropMalformed].Add(1)
			continue
		}
		s.forward(buf[:n], from, scratch)
	}
}

// forward runs handle for one datagram and performs its output.
func (s *Stream) forward(pkt []byte, from netip.AddrPort, scratch []byte) {
	out, sink, to, drop := s.handle(pkt, from, scratch)
	if drop != dropNone {
		s.stats.drops[drop].Add(1)
		return
	}
	if out == nil {
		return
	}
	if _, err := sink.conn.WriteToUDPAddrPort(out, to); err != nil {
		sink.stats.drops[DropSendError].Add(1)
		return
	}
	if out[0] <= 3 {
		return // a STUN response: control traffic, not media
	}
	sink.stats.outPackets.Add(1)
	sink.stats.outBytes.Add(uint64(len(out)))
	if classify(out) == classRTCP { // SRTCP keeps the RTCP header in clear
		sink.stats.outRTCP.Add(1)
		sink.stats.outRTCPB.Add(uint64(len(out)))
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

// now returns the clock in unix nanos.
func (c *coarseClock) nowNS() int64 { return c.ns.Load() }
