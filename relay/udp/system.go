package udp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// DSCPExpedited is the DSCP "EF" code point (RFC 3246) shifted into the
// TOS byte: the marking voice media conventionally gets, and rtpengine's
// --tos default.
const DSCPExpedited = 46 << 2

// System is the Network of real kernel sockets.
type System struct {
	// TOS is written to IP_TOS / IPV6_TCLASS on every media socket; 0
	// leaves the kernel default.
	TOS int
	// RecvBuffer and SendBuffer set SO_RCVBUF/SO_SNDBUF when non-zero. A
	// relay socket sees bursts when the Go scheduler is late; a larger
	// receive buffer absorbs them instead of dropping.
	RecvBuffer int
	SendBuffer int
	// Poller, when set, owns the sockets: see ListenUDP.
	Poller *Poller
}

// ListenUDP binds one UDP socket on laddr with the configured options. With
// a Poller the socket belongs to it (an *FDConn the relay attaches a
// Receiver to); without, it is an ordinary *net.UDPConn read by a goroutine.
func (s System) ListenUDP(laddr netip.AddrPort) (Conn, error) {
	if s.Poller != nil {
		return listenFD(s.Poller, laddr, s)
	}
	lc := net.ListenConfig{Control: s.control}
	network := "udp4"
	if laddr.Addr().Is6() && !laddr.Addr().Is4In6() {
		network = "udp6"
	}
	pc, err := lc.ListenPacket(context.Background(), network, laddr.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func (s System) control(network, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) { serr = s.setOptions(int(fd), network == "udp6") })
	if err != nil {
		return err
	}
	return serr
}

// setOptions applies buffer sizes and the TOS/traffic class to fd.
func (s System) setOptions(fd int, v6 bool) error {
	if s.RecvBuffer > 0 {
		if e := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, s.RecvBuffer); e != nil {
			return fmt.Errorf("SO_RCVBUF: %w", e)
		}
	}
	if s.SendBuffer > 0 {
		if e := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, s.SendBuffer); e != nil {
			return fmt.Errorf("SO_SNDBUF: %w", e)
		}
	}
	if s.TOS != 0 {
		var e error
		if v6 {
			e = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS, s.TOS)
		} else {
			e = syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_TOS, s.TOS)
		}
		if e != nil {
			return fmt.Errorf("TOS: %w", e)
		}
	}
	return nil
}
