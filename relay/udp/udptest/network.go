// Package udptest is an in-memory UDP network for unit tests of the relay:
// deterministic, fast, and with a tap that sees every datagram, so a test can
// assert what crossed which leg without a packet capture.
package udptest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/srtpgw/srtpgw/relay/udp"
)

// queueLen is each socket's receive queue; a full queue drops, as a kernel
// socket buffer would.
const queueLen = 1024

// Network is an in-memory udp.Network. The zero value is not usable; call New.
type Network struct {
	mu        sync.Mutex
	conns     map[netip.AddrPort]*Conn
	nextPort  uint16
	tap       func(from, to netip.AddrPort, b []byte)
	delivered int
	dropped   int
}

// New returns an empty network.
func New() *Network {
	return &Network{conns: make(map[netip.AddrPort]*Conn), nextPort: 40000}
}

// Tap registers fn to see a copy of every datagram written on the network,
// delivered or not. fn runs on the writer's goroutine.
func (n *Network) Tap(fn func(from, to netip.AddrPort, b []byte)) {
	n.mu.Lock()
	n.tap = fn
	n.mu.Unlock()
}

// Counts reports datagrams delivered to a socket and dropped (no socket or
// full queue).
func (n *Network) Counts() (delivered, dropped int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.delivered, n.dropped
}

// ListenUDP binds laddr; port 0 picks a free port.
func (n *Network) ListenUDP(laddr netip.AddrPort) (udp.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if laddr.Port() == 0 {
		for {
			n.nextPort++
			cand := netip.AddrPortFrom(laddr.Addr(), n.nextPort)
			if _, taken := n.conns[cand]; !taken {
				laddr = cand
				break
			}
		}
	}
	if _, taken := n.conns[laddr]; taken {
		return nil, fmt.Errorf("listen udp %s: address already in use", laddr)
	}
	c := &Conn{net: n, local: laddr, queue: make(chan datagram, queueLen), done: make(chan struct{})}
	n.conns[laddr] = c
	return c, nil
}

type datagram struct {
	b    []byte
	from netip.AddrPort
}

// Conn is one in-memory socket.
type Conn struct {
	net   *Network
	local netip.AddrPort
	queue chan datagram
	done  chan struct{}
	once  sync.Once
}

// ReadFromUDPAddrPort blocks until a datagram arrives or the socket closes.
func (c *Conn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.queue:
		return copy(b, d.b), d.from, nil
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// WriteToUDPAddrPort copies b to the socket bound at to, if any.
func (c *Conn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	cp := append([]byte(nil), b...)
	n := c.net
	n.mu.Lock()
	tap := n.tap
	dst := n.conns[to]
	n.mu.Unlock()
	if tap != nil {
		tap(c.local, to, cp)
	}
	ok := false
	if dst != nil {
		select {
		case dst.queue <- datagram{b: cp, from: c.local}:
			ok = true
		default:
		}
	}
	n.mu.Lock()
	if ok {
		n.delivered++
	} else {
		n.dropped++
	}
	n.mu.Unlock()
	return len(b), nil
}

// LocalAddr returns the bound address.
func (c *Conn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.local) }

// Close unbinds the socket; blocked readers return net.ErrClosed.
func (c *Conn) Close() error {
	err := errors.New("close of closed socket")
	c.once.Do(func() {
		err = nil
		close(c.done)
		c.net.mu.Lock()
		delete(c.net.conns, c.local)
		c.net.mu.Unlock()
	})
	return err
}
