package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// FDConn is a UDP socket owned by a Poller instead of the Go runtime's
// netpoller: the poller's workers read it with recvmmsg and write for it
// with sendmmsg. Its own WriteToUDPAddrPort (used by the DTLS handshake and
// other occasional senders) is a direct non-blocking sendto.
type FDConn struct {
	fd     int
	local  netip.AddrPort
	poller *Poller

	mu       sync.Mutex
	attached *entry
	closed   bool
}

// errPolled is returned by reads: a polled socket is read by its poller.
var errPolled = errors.New("udp: socket is read by its poller")

func listenFD(p *Poller, laddr netip.AddrPort, opt System) (*FDConn, error) {
	family := unix.AF_INET
	if laddr.Addr().Is6() && !laddr.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := opt.setOptions(fd, family == unix.AF_INET6); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, sockaddr(laddr)); err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(laddr), Err: err}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &FDConn{fd: fd, local: fromSockaddr(sa), poller: p}, nil
}

// Attach starts delivering the socket's datagrams to r on poller worker
// group (calls' sockets share a worker for cache locality).
func (c *FDConn) Attach(r Receiver, group uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	if c.attached != nil {
		return errors.New("udp: socket already attached")
	}
	e, err := c.poller.add(c, r, group)
	if err != nil {
		return err
	}
	c.attached = e
	return nil
}

// ReadFromUDPAddrPort is not available: the poller reads the socket.
func (c *FDConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, errPolled
}

// WriteToUDPAddrPort sends one datagram without blocking; a full socket
// buffer is an error (the datagram is dropped, as UDP would).
func (c *FDConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if err := unix.Sendto(c.fd, b, unix.MSG_DONTWAIT, sockaddr(to)); err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: err}
	}
	return len(b), nil
}

// LocalAddr is the bound address.
func (c *FDConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.local) }

// Close detaches the socket from its worker, waiting until the worker has
// stopped delivering its datagrams, then closes it. After Close returns the
// Receiver is never called again.
func (c *FDConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	e := c.attached
	c.mu.Unlock()
	if e != nil {
		c.poller.remove(e)
	}
	return unix.Close(c.fd)
}

func sockaddr(a netip.AddrPort) unix.Sockaddr {
	if a.Addr().Is4() || a.Addr().Is4In6() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
}

func fromSockaddr(sa unix.Sockaddr) netip.AddrPort {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port))
	}
	return netip.AddrPort{}
}
