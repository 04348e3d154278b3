package crypto

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestEndpointTimeout(t *testing.T) {
	for _, role := range []Role{RoleClient, RoleServer} {
		t.Run(role.String(), func(t *testing.T) {
			const timeout = 400 * time.Millisecond
			e, err := NewEndpoint(EndpointConfig{
				Role: role, Certificate: mustCert(t), PeerFingerprints: []Fingerprint{mustCert(t).Fingerprint()},
				Peer: addrB, Send: func([]byte, netip.AddrPort) error { return nil }, Timeout: timeout,
			})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, err := e.Handshake(context.Background())
			elapsed := time.Since(start)
			if !errors.Is(err, ErrHandshakeTimeout) || res != nil {
				t.Fatalf("err = %v, want ErrHandshakeTimeout", err)
			}
			// Functional bound, not a speed assertion: it must neither return early nor hang.
			if elapsed < timeout*9/10 || elapsed > timeout+5*time.Second {
				t.Fatalf("returned after %v for a %v timeout", elapsed, timeout)
			}
			waitDone(t, e, time.Second)
			if e.Feed([]byte{22, 0xfe, 0xfd}, addrB) {
				t.Fatal("Feed accepted after failure")
			}
		})
	}
}

func TestEndpointContextCancelAndClose(t *testing.T) {
	mk := func() *Endpoint {
		e, err := NewEndpoint(EndpointConfig{
			Role: RoleServer, Certificate: mustCert(t), PeerFingerprints: []Fingerprint{mustCert(t).Fingerprint()},
			Peer: addrB, Send: func([]byte, netip.AddrPort) error { return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	t.Run("cancel", func(t *testing.T) {
		e := mk()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if _, err := e.Handshake(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		waitDone(t, e, time.Second)
	})
	t.Run("caller deadline counts as timeout", func(t *testing.T) {
		e := mk()
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		_, err := e.Handshake(ctx)
		if !errors.Is(err, ErrHandshakeTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrHandshakeTimeout wrapping context.DeadlineExceeded", err)
		}
	})
	t.Run("close during handshake", func(t *testing.T) {
		e := mk()
		time.AfterFunc(100*time.Millisecond, func() { _ = e.Close() })
		if _, err := e.Handshake(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})
	t.Run("handshake twice", func(t *testing.T) {
		e := mk()
		_ = e.Close()
		if _, err := e.Handshake(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("after Close: err = %v, want ErrClosed", err)
		}
		if _, err := e.Handshake(context.Background()); err == nil {
			t.Fatal("second Handshake call succeeded")
		}
	})
}

func TestEndpointLimiter(t *testing.T) {
	lim := NewHandshakeLimiter(1, 1)
	blocker, err := NewEndpoint(EndpointConfig{
		Role: RoleServer, Certificate: mustCert(t), PeerFingerprints: []Fingerprint{mustCert(t).Fingerprint()},
		Peer: addrB, Send: func([]byte, netip.AddrPort) error { return nil }, Limiter: lim, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { _, err := blocker.Handshake(context.Background()); blocked <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for lim.Active() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first handshake never took a slot")
		}
		time.Sleep(time.Millisecond)
	}

	l := newLink()
	a, b := endpointPair(t, l, side{role: RoleClient, limiter: lim}, side{role: RoleServer})
	if _, err := a.Handshake(context.Background()); !errors.Is(err, ErrHandshakeLimit) {
		t.Fatalf("err = %v, want ErrHandshakeLimit", err)
	}
	_ = b.Close()
	_ = blocker.Close()
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked handshake: %v", err)
	}
	if lim.Active() != 0 {
		t.Fatalf("slot not released: %d active", lim.Active())
	}
}

func TestEndpointFeed(t *testing.T) {
	e, err := NewEndpoint(EndpointConfig{
		Role: RoleServer, Certificate: mustCert(t), PeerFingerprints: []Fingerprint{mustCert(t).Fingerprint()},
		Peer: addrB, Send: func([]byte, netip.AddrPort) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := []byte{22, 0xfe, 0xfd, 0}
	tests := []struct {
		name string
		b    []byte
		from netip.AddrPort
		want bool
	}{
		{"dtls from peer", rec, addrB, true},
		{"dtls from peer as v4-mapped v6", rec, mapped(addrB), true},
		{"rtp first byte", []byte{0x80, 0}, addrB, false},
		{"stun first byte", []byte{0, 1}, addrB, false},
		{"empty", nil, addrB, false},
		{"other port same host", rec, withPort(addrB, 1), false},
		{"third address", rec, addrThird, false},
	}
	for _, tc := range tests {
		if got := e.Feed(tc.b, tc.from); got != tc.want {
			t.Errorf("%s: Feed = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Feed copies: mutating the caller's buffer must not change what was queued.
	buf := []byte{23, 1, 2}
	e.Feed(buf, addrB)
	buf[1] = 99
	var last []byte
	for len(e.pc.in) > 0 {
		last = <-e.pc.in
	}
	if last[1] != 1 {
		t.Fatal("Feed did not copy the datagram")
	}
	// Queue full: Feed drops instead of blocking the read loop.
	full := 0
	for i := 0; i < queueLen+10; i++ {
		if !e.Feed(rec, addrB) {
			full++
		}
	}
	if full != 10 {
		t.Fatalf("%d drops for %d over capacity", full, 10)
	}
	if _, qf := e.Dropped(); qf != 10 {
		t.Fatalf("queueFull = %d, want 10", qf)
	}
	// Re-latch.
	e.SetPeer(addrThird)
	for len(e.pc.in) > 0 {
		<-e.pc.in
	}
	if e.Feed(rec, addrB) || !e.Feed(rec, addrThird) {
		t.Fatal("SetPeer did not move the accepted source")
	}
	_ = e.Close()
	if e.Feed(rec, addrThird) {
		t.Fatal("Feed accepted after Close")
	}
}

func TestNewEndpointValidation(t *testing.T) {
	cert := mustCert(t)
	fp := mustCert(t).Fingerprint()
	send := func([]byte, netip.AddrPort) error { return nil }
	expired, err := generateCertificateAt(time.Now().Add(-48*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	base := func() EndpointConfig {
		return EndpointConfig{Role: RoleClient, Certificate: cert, PeerFingerprints: []Fingerprint{fp}, Peer: addrB, Send: send}
	}
	tests := []struct {
		name   string
		mutate func(*EndpointConfig)
		ok     bool
	}{
		{"valid", func(*EndpointConfig) {}, true},
		{"no role", func(c *EndpointConfig) { c.Role = 0 }, false},
		{"no cert", func(c *EndpointConfig) { c.Certificate = nil }, false},
		{"expired cert", func(c *EndpointConfig) { c.Certificate = expired }, false},
		{"no fingerprints", func(c *EndpointConfig) { c.PeerFingerprints = nil }, false},
		{"sha-1 fingerprint", func(c *EndpointConfig) {
			c.PeerFingerprints = []Fingerprint{{Hash: "sha-1", Value: make([]byte, 20)}}
		}, false},
		{"short sha-256", func(c *EndpointConfig) {
			c.PeerFingerprints = []Fingerprint{{Hash: "sha-256", Value: make([]byte, 20)}}
		}, false},
		{"no peer", func(c *EndpointConfig) { c.Peer = netip.AddrPort{} }, false},
		{"port zero", func(c *EndpointConfig) { c.Peer = withPort(addrB, 0) }, false},
		{"no send", func(c *EndpointConfig) { c.Send = nil }, false},
		{"negative timeout", func(c *EndpointConfig) { c.Timeout = -1 }, false},
		{"empty profiles", func(c *EndpointConfig) { c.Profiles = []Profile{} }, false},
		{"profile _32", func(c *EndpointConfig) { c.Profiles = []Profile{0x0002} }, false},
		{"profile subset", func(c *EndpointConfig) { c.Profiles = []Profile{ProfileAES128CMHMACSHA1_80} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(&c)
			e, err := NewEndpoint(c)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if e != nil {
				_ = e.Close()
			}
		})
	}
}
