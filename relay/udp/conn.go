// Package udp is the only package in srtpgw that touches sockets. It holds
// the Conn seam the relay reads and writes through, the system network that
// binds real sockets with media-friendly options, and the media port pool.
//
// Keeping sockets behind one small interface (the pattern of wireguard-go's
// conn.Bind) lets the relay's packet logic run unchanged over real sockets,
// the in-memory network in udptest, or a batched event loop later.
package udp

import (
	"net"
	"net/netip"
)

// Conn is one bound UDP socket. *net.UDPConn satisfies it; both methods used
// on the packet path take and return netip.AddrPort so that neither side
// allocates per packet.
type Conn interface {
	ReadFromUDPAddrPort(b []byte) (n int, addr netip.AddrPort, err error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	LocalAddr() net.Addr
	Close() error
}

// Network binds sockets. The relay gets one at construction time: System
// in production, udptest.Network in unit tests.
type Network interface {
	ListenUDP(laddr netip.AddrPort) (Conn, error)
}

// LocalAddrPort returns c's bound address as a netip.AddrPort.
func LocalAddrPort(c Conn) netip.AddrPort {
	switch a := c.LocalAddr().(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	default:
		ap, _ := netip.ParseAddrPort(a.String())
		return ap
	}
}
