package forwarder

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// leg is one party's side of a call: an RTP and an RTCP socket on one
// interface, like a relay's port pair, and where that party wants media.
type leg struct {
	rtp, rtcp *net.UDPConn
	port      int
	peerRTP   atomic.Pointer[netip.AddrPort]
	peerRTCP  atomic.Pointer[netip.AddrPort]
}

func (l *leg) setPeer(ep endpoint) {
	r, c := ep.rtp, ep.rtcp
	l.peerRTP.Store(&r)
	l.peerRTCP.Store(&c)
}

// fcall is a call: two legs, each socket with one forwarding goroutine.
type fcall struct {
	legs [2]*leg
	wg   sync.WaitGroup
	st   Stats // per call, so forwarding goroutines of different calls share no cache line
}

// start forwards each socket's datagrams out of the other leg's matching
// socket, to that leg's peer. No crypto, no checks, no allocation per
// packet: the floor any relay's packet path sits on.
func (c *fcall) start() {
	for i, l := range c.legs {
		o := c.legs[1-i]
		c.wg.Add(2)
		go c.forward(l.rtp, o.rtp, &o.peerRTP)
		go c.forward(l.rtcp, o.rtcp, &o.peerRTCP)
	}
}

func (c *fcall) forward(in, out *net.UDPConn, peer *atomic.Pointer[netip.AddrPort]) {
	st := &c.st
	defer c.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors from an earlier send surface here
		}
		dst := peer.Load()
		if dst == nil {
			st.Dropped.Add(1) // the answer has not told us where yet
			continue
		}
		if _, err := out.WriteToUDPAddrPort(buf[:n], *dst); err != nil {
			st.SendErrors.Add(1)
			continue
		}
		st.Forwarded.Add(1)
	}
}

func (c *fcall) close() {
	for _, l := range c.legs {
		if l != nil {
			l.rtp.Close()
			l.rtcp.Close()
		}
	}
	c.wg.Wait()
}

// Stats are packet counters.
type Stats struct {
	Forwarded, Dropped, SendErrors atomic.Uint64
}

func (s *Stats) add(o *Stats) {
	s.Forwarded.Add(o.Forwarded.Load())
	s.Dropped.Add(o.Dropped.Load())
	s.SendErrors.Add(o.SendErrors.Load())
}
