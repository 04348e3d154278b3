//go:build !linux

package udp

import (
	"errors"
	"net"
	"net/netip"
)

// Poller is the batched socket driver; it needs Linux (epoll, recvmmsg).
type Poller struct{}

// NewPoller reports that batching is not available here; the relay then
// reads each socket with its own goroutine.
func NewPoller(int) (*Poller, error) { return nil, errors.New("udp: the batched poller needs Linux") }

// Close does nothing.
func (*Poller) Close() error { return nil }

// FDConn is not available off Linux.
type FDConn struct{}

// Attach is not available off Linux.
func (*FDConn) Attach(Receiver, uint32) error { return errors.New("udp: no poller") }

func (*FDConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, net.ErrClosed
}
func (*FDConn) WriteToUDPAddrPort([]byte, netip.AddrPort) (int, error) { return 0, net.ErrClosed }
func (*FDConn) LocalAddr() net.Addr                                    { return nil }
func (*FDConn) Close() error                                           { return nil }

func listenFD(*Poller, netip.AddrPort, System) (*FDConn, error) {
	return nil, errors.New("udp: no poller")
}
