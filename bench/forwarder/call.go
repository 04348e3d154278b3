package forwarder

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/udp"
)

// leg is one party's side of a call: an RTP and an RTCP socket on one
// interface, like a relay's port pair, and where that party wants media.
type leg struct {
	rtp, rtcp udp.Conn
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
	legs  [2]*leg
	group uint32 // poller worker group
	// sess keys the RTP sockets with -static-srtp (nil: plain). Its
	// encrypting half is used only by the worker of legs[0].rtp, its
	// decrypting half by that of legs[1].rtp (crypto.Session's contract).
	sess *crypto.Session
	wg   sync.WaitGroup
	st   Stats // per call, so forwarding goroutines of different calls share no cache line
}

// start forwards each socket's datagrams out of the other leg's matching
// socket, to that leg's peer. No crypto, no checks, no allocation per
// packet: the floor any relay's packet path sits on.
func (c *fcall) start() {
	for i, l := range c.legs {
		o := c.legs[1-i]
		// Media from the offerer (the phone) goes to the upstream: with
		// -static-srtp it is protected, and the reverse is verified.
		op := opEncrypt
		if i == 1 {
			op = opDecrypt
		}
		if c.sess == nil {
			op = opNone
		}
		for _, p := range []struct {
			in, out udp.Conn
			peer    *atomic.Pointer[netip.AddrPort]
			op      srtpOp
		}{{l.rtp, o.rtp, &o.peerRTP, op}, {l.rtcp, o.rtcp, &o.peerRTCP, opNone}} {
			// With a poller (-poller), the socket strategy is srtpgw's:
			// batched workers instead of a goroutine per socket.
			if fc, ok := p.in.(*udp.FDConn); ok {
				fc.Attach(&pollFwd{st: &c.st, out: p.out, peer: p.peer, sess: c.sess, op: p.op}, c.group)
				continue
			}
			c.wg.Add(1)
			go c.forward(p.in, p.out, p.peer)
		}
	}
}

// srtpOp is what the keyed forwarder does to a socket's RTP.
type srtpOp uint8

const (
	opNone srtpOp = iota
	opEncrypt
	opDecrypt
)

// pollFwd is the poller's version of forward.
type pollFwd struct {
	st   *Stats
	out  udp.Conn
	peer *atomic.Pointer[netip.AddrPort]
	sess *crypto.Session
	op   srtpOp
}

func (f *pollFwd) Receive(pkt []byte, _ netip.AddrPort, scratch []byte) ([]byte, udp.Conn, netip.AddrPort) {
	dst := f.peer.Load()
	if dst == nil {
		f.st.Dropped.Add(1)
		return nil, nil, netip.AddrPort{}
	}
	out := pkt
	var err error
	switch f.op {
	case opEncrypt:
		out, err = f.sess.EncryptRTP(scratch[:0], pkt)
	case opDecrypt:
		out, err = f.sess.DecryptRTP(scratch[:0], pkt)
	}
	if err != nil {
		f.st.Dropped.Add(1)
		return nil, nil, netip.AddrPort{}
	}
	f.st.Forwarded.Add(1)
	return out, f.out, *dst
}

func (f *pollFwd) SendFailed([]byte) { f.st.SendErrors.Add(1) }
func (f *pollFwd) Flush()            {}

func (c *fcall) forward(in, out udp.Conn, peer *atomic.Pointer[netip.AddrPort]) {
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
