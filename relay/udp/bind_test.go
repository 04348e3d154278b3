package udp_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/srtpgw/srtpgw/relay/udp"
	"github.com/srtpgw/srtpgw/relay/udp/udptest"
)

func TestBindPairSkipsTakenPorts(t *testing.T) {
	n := udptest.New()
	addr := netip.MustParseAddr("127.0.0.2")
	pool, err := udp.NewPool(30000, 30003, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another process holds 30001: only the 30002/30003 pair can bind.
	squat, err := n.ListenUDP(netip.AddrPortFrom(addr, 30001))
	if err != nil {
		t.Fatal(err)
	}
	defer squat.Close()
	pair, err := udp.BindPair(n, pool, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	if pair.Port != 30002 {
		t.Fatalf("bound %d, want 30002", pair.Port)
	}
	if got := udp.LocalAddrPort(pair.RTCP); got.Port() != 30003 {
		t.Fatalf("RTCP bound on %v", got)
	}
	if _, err := udp.BindPair(n, pool, addr); !errors.Is(err, udp.ErrExhausted) {
		t.Fatalf("second BindPair: %v, want ErrExhausted", err)
	}
}

func TestSystemListenLoopback(t *testing.T) {
	sys := udp.System{TOS: udp.DSCPExpedited, RecvBuffer: 1 << 18, SendBuffer: 1 << 18}
	a, err := sys.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sys.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	msg := []byte("\x80\x00hello")
	if _, err := a.WriteToUDPAddrPort(msg, udp.LocalAddrPort(b)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, from, err := b.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != string(msg) || from != udp.LocalAddrPort(a) {
		t.Fatalf("got %q from %v", buf[:n], from)
	}
}

func TestInMemoryNetworkDeliversAndTaps(t *testing.T) {
	n := udptest.New()
	var tapped int
	n.Tap(func(from, to netip.AddrPort, b []byte) { tapped++ })
	a, _ := n.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	b, _ := n.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	a.WriteToUDPAddrPort([]byte("x"), udp.LocalAddrPort(b))
	a.WriteToUDPAddrPort([]byte("y"), netip.MustParseAddrPort("127.0.0.9:9")) // nobody there
	buf := make([]byte, 8)
	k, from, err := b.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:k]) != "x" || from != udp.LocalAddrPort(a) {
		t.Fatalf("read %q from %v: %v", buf[:k], from, err)
	}
	if d, dr := n.Counts(); d != 1 || dr != 1 || tapped != 2 {
		t.Fatalf("delivered=%d dropped=%d tapped=%d", d, dr, tapped)
	}
	b.Close()
	if _, _, err := b.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatal("read on closed socket succeeded")
	}
}
