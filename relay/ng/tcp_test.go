package ng

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestServeTCP(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serve(t, func(ctx context.Context) error { return s.ServeTCP(ctx, ln) })
	defer stop()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	offer := readTestdata(t, "b8-offer-request.bencode")
	// Two messages back to back, then one split mid-value.
	if _, err := c.Write(append([]byte("1 d7:command4:pinge2 d7:command4:pinge"), offer[:100]...)); err != nil {
		t.Fatal(err)
	}
	want := "1 d6:result4:ponge2 d6:result4:ponge"
	got := readN(t, c, len(want))
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := c.Write(offer[100:]); err != nil {
		t.Fatal(err)
	}
	want = "1_2345_7 d3:sdp14:v=0\r\no=offer\r\n6:result2:oke"
	if got := readN(t, c, len(want)); got != want {
		t.Fatalf("offer over TCP: %q", got)
	}
	// A stream that cannot be framed is closed.
	if _, err := c.Write([]byte(" junk")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after junk: read %d, %v; want EOF", n, err)
	}
	if s.Stats().Dropped[DropMalformed] != 1 {
		t.Errorf("malformed = %d", s.Stats().Dropped[DropMalformed])
	}
}

func TestServeTCPRejectsOutsiders(t *testing.T) {
	s := NewServer(newFakeEngine(), Config{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serve(t, func(ctx context.Context) error { return s.ServeTCP(ctx, ln) })
	defer stop()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("outsider connection: %v, want EOF", err)
	}
	if s.Stats().Dropped[DropNotAllowed] != 1 {
		t.Error("rejection not counted")
	}
}

func TestFrameLen(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want error
	}{
		{"1 de", 4, nil},
		{"1 dee", 4, nil},
		{"1 d7:command4:pinge2 de", 19, nil},
		{"1 d7:comm", 0, errNeedMore},
		{"12345", 0, errNeedMore},
		{"", 0, errNeedMore},
	}
	for _, tt := range tests {
		n, err := frameLen([]byte(tt.in))
		if n != tt.n || err != tt.want {
			t.Errorf("frameLen(%q) = %d, %v; want %d, %v", tt.in, n, err, tt.n, tt.want)
		}
	}
	for _, bad := range []string{" de", "1 x", string(bytes.Repeat([]byte("k"), maxCookie+2))} {
		if _, err := frameLen([]byte(bad)); err == nil || err == errNeedMore {
			t.Errorf("frameLen(%.20q) = %v, want a framing error", bad, err)
		}
	}
}

func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}
