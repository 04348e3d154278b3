//go:build linux

package udp_test

import (
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/udp"
)

// echo sends every datagram back to its sender, from the same socket.
type echo struct {
	self     udp.Conn
	received atomic.Int64
	flushed  atomic.Int64
	failed   atomic.Int64
}

func (e *echo) Receive(pkt []byte, from netip.AddrPort, scratch []byte) ([]byte, udp.Conn, netip.AddrPort) {
	e.received.Add(1)
	n := copy(scratch, pkt)
	return scratch[:n], e.self, from
}
func (e *echo) SendFailed([]byte) { e.failed.Add(1) }
func (e *echo) Flush()            { e.flushed.Add(1) }

func TestPollerEchoAndDetach(t *testing.T) {
	p, err := udp.NewPoller(2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sys := udp.System{Poller: p}
	c, err := sys.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	fc := c.(*udp.FDConn)
	e := &echo{self: fc}
	if err := fc.Attach(e, 0); err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := udp.LocalAddrPort(fc)
	const n = 200 // more than one recvmmsg batch
	for i := range n {
		if _, err := peer.WriteToUDPAddrPort([]byte{byte(i), 0x80, 1, 2}, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	peer.SetReadDeadline(time.Now().Add(3 * time.Second))
	for i := range n {
		k, from, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
		if k != 4 || buf[0] != byte(i) || from != to {
			t.Fatalf("echo %d: % x from %v", i, buf[:k], from)
		}
	}
	deadline := time.Now().Add(time.Second)
	for e.flushed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if e.flushed.Load() == 0 {
		t.Fatal("the idle worker never flushed the receiver")
	}

	// After Close returns the receiver is never called again, and the
	// socket no longer answers.
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}
	got := e.received.Load()
	peer.WriteToUDPAddrPort([]byte{1, 2, 3}, to)
	time.Sleep(50 * time.Millisecond)
	if e.received.Load() != got {
		t.Fatal("receiver called after Close")
	}
	if err := fc.Attach(e, 0); err == nil {
		t.Fatal("attach after close succeeded")
	}
}

// polledSocket is a loopback socket on a one-worker poller, and a plain
// socket to talk to it; both close when the test ends.
func polledSocket(t *testing.T) (udp.Conn, *net.UDPConn) {
	t.Helper()
	p, err := udp.NewPoller(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := udp.System{Poller: p}.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return c, peer
}

// TestPollerWriteTo: the direct (non-batched) send path of an FDConn.
func TestPollerWriteTo(t *testing.T) {
	c, peer := polledSocket(t)
	if _, err := c.WriteToUDPAddrPort([]byte("dtls"), peer.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	peer.SetReadDeadline(time.Now().Add(time.Second))
	k, from, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:k]) != "dtls" || from != udp.LocalAddrPort(c) {
		t.Fatalf("got %q from %v: %v", buf[:k], from, err)
	}
	if _, _, err := c.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatal("a polled socket must not be read directly")
	}
}

// TestPollerWakeupsAllocateNothing ping-pongs single datagrams so that
// every one is its own wake-up of the worker, and counts heap allocations
// in the whole process meanwhile. The readiness callback once escaped to
// the heap on every wake-up: ~10 000 allocations a second at 400 calls.
func TestPollerWakeupsAllocateNothing(t *testing.T) {
	c, peer := polledSocket(t)
	fc := c.(*udp.FDConn)
	if err := fc.Attach(&echo{self: fc}, 0); err != nil {
		t.Fatal(err)
	}
	to := udp.LocalAddrPort(fc)
	pkt, buf := make([]byte, 172), make([]byte, 256)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	pingPong := func(n int) {
		for range n {
			if _, err := peer.WriteToUDPAddrPort(pkt, to); err != nil {
				t.Fatal(err)
			}
			if _, _, err := peer.ReadFromUDPAddrPort(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	pingPong(100) // warm up: slices, maps and the runtime's own first-use allocations
	const n = 2000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pingPong(n)
	runtime.ReadMemStats(&after)
	// A small allowance for the runtime and the test harness; one
	// allocation per wake-up would be n.
	if got := after.Mallocs - before.Mallocs; got > n/20 {
		t.Fatalf("%d heap allocations over %d wake-ups of the poller", got, n)
	}
}
