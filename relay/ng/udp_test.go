package ng

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// serve starts fn in a goroutine and returns a stop function that cancels
// it and checks that it returned nil.
func serve(t *testing.T, fn func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	return func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server returned %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("server did not return after cancel")
		}
	}
}

func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func exchange(t *testing.T, c *net.UDPConn, to *net.UDPAddr, msg string) string {
	t.Helper()
	if _, err := c.WriteToUDP([]byte(msg), to); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 65536)
	n, _, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no reply to %q: %v", msg, err)
	}
	return string(buf[:n])
}

func TestServeUDP(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	srv := listenUDP(t)
	stop := serve(t, func(ctx context.Context) error { return s.ServeUDP(ctx, srv) })
	client := listenUDP(t)
	to := srv.LocalAddr().(*net.UDPAddr)

	if got := exchange(t, client, to, "5323_1 d7:command4:pinge"); got != "5323_1 d6:result4:ponge" {
		t.Errorf("ping: %q", got)
	}
	offer := string(readTestdata(t, "b8-offer-request.bencode"))
	first := exchange(t, client, to, offer)
	second := exchange(t, client, to, offer) // Kamailio's retransmission
	if first != second || first != "1_2345_7 d3:sdp14:v=0\r\no=offer\r\n6:result2:oke" {
		t.Errorf("replies %q and %q", first, second)
	}
	if n := e.offerCount(); n != 1 {
		t.Errorf("engine called %d times for a retransmitted offer", n)
	}
	// A datagram without a cookie gets no reply; the next one still does.
	if _, err := client.WriteToUDP([]byte("d7:command4:pinge"), to); err != nil {
		t.Fatal(err)
	}
	if got := exchange(t, client, to, "2 d7:command4:pinge"); got != "2 d6:result4:ponge" {
		t.Errorf("after junk: %q", got)
	}
	stop()
	if st := s.Stats(); st.Dropped[DropNoCookie] != 1 || st.CacheHits != 1 {
		t.Errorf("stats after run: %+v", st)
	}
}

func TestServeUDPDropsOutsiders(t *testing.T) {
	ev := &fakeEvents{}
	s := NewServer(newFakeEngine(), Config{Events: ev, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	srv := listenUDP(t)
	stop := serve(t, func(ctx context.Context) error { return s.ServeUDP(ctx, srv) })
	defer stop()
	client := listenUDP(t)
	for range 3 {
		if _, err := client.WriteToUDP([]byte("c d7:command4:pinge"), srv.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three not_allowed drops", func() bool { return s.Stats().Dropped[DropNotAllowed] == 3 })
	if rejected, _ := ev.counts(); rejected != 1 {
		t.Errorf("ClientRejected %d times, want 1", rejected)
	}
}

func TestServeUDPReturnsWhenClosed(t *testing.T) {
	s := NewServer(newFakeEngine(), Config{})
	srv := listenUDP(t)
	done := make(chan error, 1)
	go func() { done <- s.ServeUDP(context.Background(), srv) }()
	srv.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeUDP = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeUDP did not return after Close")
	}
}
