package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func newTestEndpoint(t *testing.T) *endpoint {
	t.Helper()
	e, err := newEndpoint(netip.MustParseAddr("127.0.0.1"), 1, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

// TestDTLSPacketConnDeadline: a past deadline fails reads at once, a
// deadline set while a read waits ends that read, and the zero time
// removes the deadline so that a queued record is read again.
func TestDTLSPacketConnDeadline(t *testing.T) {
	e := newTestEndpoint(t)
	p := &dtlsPacketConn{e: e, closed: make(chan struct{})}
	buf := make([]byte, 64)

	p.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := p.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	var ne net.Error
	if _, _, err := p.ReadFrom(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("deadline error %v is not a net.Error timeout (pion retries on those)", err)
	}

	p.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, _, err := p.ReadFrom(buf); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("read without deadline returned: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("waiting read ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set during a read did not end it")
	}

	p.SetReadDeadline(time.Time{})
	e.dtlsIn <- dtlsRecord{data: []byte{22, 254, 253}, from: netip.MustParseAddrPort("127.0.0.1:9")}
	if n, _, err := p.ReadFrom(buf); err != nil || n != 3 {
		t.Fatalf("read after clearing the deadline: %d, %v", n, err)
	}
	p.Close()
	if _, _, err := p.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestHandshakeCancelled: a handshake toward a peer that never answers
// returns soon after its context ends (it once hung for good: the soak's
// churn could not stop).
func TestHandshakeCancelled(t *testing.T) {
	u, err := newUpstreamTLS()
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEndpoint(t)
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, _, err := handshake(ctx, e, silent.LocalAddr().(*net.UDPAddr).AddrPort(), u.fp, u)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("handshake with a silent peer succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handshake did not return 10 s after its context ended")
	}
}
