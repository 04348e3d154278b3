package crypto

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// packetConn is the net.PacketConn pion/dtls runs on. It owns no socket: datagrams arrive
// through feed (called from the relay's read loop via Endpoint.Feed) and leave through send
// (the relay's stream socket). That keeps one goroutine per socket (DESIGN §3) and lets the
// Endpoint filter sources before pion sees a byte.
type packetConn struct {
	in     chan []byte
	send   func(b []byte) error
	remote func() net.Addr

	closeOnce sync.Once
	closed    chan struct{}
	onClose   func()

	readDeadline deadline
}

// queueLen bounds datagrams waiting for pion. A DTLS flight is at most a handful of records
// (certificate fragments), so 64 absorbs a retransmitted flight several times over while
// capping what a peer can make us hold (64 x 1500 bytes).
const queueLen = 64

func newPacketConn(send func([]byte) error, remote func() net.Addr, onClose func()) *packetConn {
	return &packetConn{
		in:           make(chan []byte, queueLen),
		send:         send,
		remote:       remote,
		closed:       make(chan struct{}),
		onClose:      onClose,
		readDeadline: deadline{ch: make(chan struct{})},
	}
}

// feed queues a copy of b without blocking; false when full or closed.
func (c *packetConn) feed(b []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	cp := append(make([]byte, 0, len(b)), b...)
	select {
	case c.in <- cp:
		return true
	default:
		return false
	}
}

// ReadFrom blocks until a datagram is queued, the read deadline passes or the conn closes.
// pion's netctx wrapper cancels a blocked read by setting a deadline in the past.
func (c *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select { // a closed conn or expired deadline wins over queued data
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.readDeadline.done():
		return 0, nil, os.ErrDeadlineExceeded
	default:
	}
	select {
	case d := <-c.in:
		return copy(b, d), c.remote(), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.readDeadline.done():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

// WriteTo sends to the Endpoint's current peer whatever address pion names: the peer may
// have been re-latched (Endpoint.SetPeer) since pion was handed its remote address.
func (c *packetConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if err := c.send(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *packetConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.readDeadline.stop()
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

func (c *packetConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// LocalAddr is a placeholder: the relay owns the real socket.
func (c *packetConn) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4zero} }

func (c *packetConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *packetConn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	return nil
}

// SetWriteDeadline is a no-op: send never blocks (the relay's socket write is non-blocking
// UDP), so there is nothing to interrupt.
func (c *packetConn) SetWriteDeadline(time.Time) error { return nil }

// deadline is a resettable read deadline whose channel closes when it passes, so a reader
// already blocked in ReadFrom wakes when a deadline is set after it started waiting.
type deadline struct {
	mu      sync.Mutex
	ch      chan struct{} // closed once the deadline has passed
	expired bool
	timer   *time.Timer
	gen     uint64 // invalidates timers from earlier set calls
}

func (d *deadline) done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.expired {
		d.ch, d.expired = make(chan struct{}), false
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		close(d.ch)
		d.expired = true
		return
	}
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen && !d.expired {
			close(d.ch)
			d.expired = true
		}
	})
}

func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

// udpAddr converts the netip form the relay uses into the net.Addr pion wants.
func udpAddr(ap netip.AddrPort) net.Addr { return net.UDPAddrFromAddrPort(ap) }
