package load

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/bench/bencode"
)

// fakeNG is a scripted ng server on loopback: it records each datagram
// and answers via reply, or stays silent when reply returns nil.
type fakeNG struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	got   [][]byte
	reply func(n int, cookie string, req map[string]any) []byte
}

func newFakeNG(t *testing.T, reply func(n int, cookie string, req map[string]any) []byte) *fakeNG {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNG{conn: c, reply: reply}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			msg := append([]byte(nil), buf[:n]...)
			f.mu.Lock()
			f.got = append(f.got, msg)
			k := len(f.got)
			f.mu.Unlock()
			cookie, body, _ := bytes.Cut(msg, []byte{' '})
			req, err := bencode.DecodeDict(body)
			if err != nil {
				continue
			}
			if out := f.reply(k, string(cookie), req); out != nil {
				c.WriteToUDPAddrPort(append(append(append([]byte(nil), cookie...), ' '), out...), from)
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return f
}

func (f *fakeNG) datagrams() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.got...)
}

func enc(t *testing.T, m map[string]any) []byte {
	b, err := bencode.Append(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNGClientReplies(t *testing.T) {
	cases := []struct {
		name    string
		reply   map[string]any
		wantErr string
	}{
		{"pong", map[string]any{"result": "pong"}, ""},
		{"ok with sdp", map[string]any{"result": "ok", "sdp": "v=0"}, ""},
		{"error", map[string]any{"result": "error", "error-reason": "Ran out of ports"}, "Ran out of ports"},
		{"load limit", map[string]any{"result": "load limit", "message": "busy"}, "load limit: busy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeNG(t, func(int, string, map[string]any) []byte { return enc(t, c.reply) })
			cl, err := DialNG(f.conn.LocalAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			m, err := cl.Do(context.Background(), map[string]any{"command": "offer", "call-id": "x"})
			if c.wantErr == "" {
				if err != nil || m["result"] != c.reply["result"] {
					t.Fatalf("reply %v, %v", m, err)
				}
				return
			}
			var ne *NGError
			if !errors.As(err, &ne) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want NGError with %q", err, c.wantErr)
			}
			// The request on the wire: cookie, space, sorted bencode.
			d := f.datagrams()[0]
			if !bytes.Contains(d, []byte(" d7:call-id1:x7:command5:offere")) {
				t.Fatalf("wire request %q", d)
			}
		})
	}
}

// TestNGClientRetransmits: a lost reply is recovered by resending the
// identical datagram (same cookie), as Kamailio does (ng-protocol.md b.3).
func TestNGClientRetransmits(t *testing.T) {
	f := newFakeNG(t, func(n int, _ string, _ map[string]any) []byte {
		if n < 3 {
			return nil // the first two tries go unanswered
		}
		return enc(t, map[string]any{"result": "pong"})
	})
	cl, err := DialNG(f.conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cl.Timeout = 20 * time.Millisecond
	if _, err := cl.Do(context.Background(), map[string]any{"command": "ping"}); err != nil {
		t.Fatal(err)
	}
	d := f.datagrams()
	if len(d) != 3 || !bytes.Equal(d[0], d[1]) || !bytes.Equal(d[1], d[2]) {
		t.Fatalf("want 3 identical datagrams, got %q", d)
	}
	if cl.Retransmissions() != 2 {
		t.Fatalf("retransmissions %d", cl.Retransmissions())
	}

	// Never answered: ErrNGTimeout after Retries sends.
	silent := newFakeNG(t, func(int, string, map[string]any) []byte { return nil })
	cl2, _ := DialNG(silent.conn.LocalAddr().String())
	defer cl2.Close()
	cl2.Timeout, cl2.Retries = 10*time.Millisecond, 3
	if _, err := cl2.Do(context.Background(), map[string]any{"command": "ping"}); !errors.Is(err, ErrNGTimeout) {
		t.Fatalf("err = %v", err)
	}
	if n := len(silent.datagrams()); n != 3 {
		t.Fatalf("%d sends, want 3", n)
	}
}

// TestNGClientConcurrent: replies are matched by cookie, not by order.
func TestNGClientConcurrent(t *testing.T) {
	f := newFakeNG(t, func(_ int, _ string, req map[string]any) []byte {
		return enc(t, map[string]any{"result": "ok", "echo": req["call-id"]})
	})
	cl, err := DialNG(f.conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strings.Repeat("c", i+1)
			m, err := cl.Do(context.Background(), map[string]any{"command": "query", "call-id": id})
			if err == nil && m["echo"] != id {
				err = errors.New("reply for another command")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestNGClientBadReply(t *testing.T) {
	f := newFakeNG(t, func(int, string, map[string]any) []byte { return []byte("l1:ae") })
	cl, _ := DialNG(f.conn.LocalAddr().String())
	defer cl.Close()
	if _, err := cl.Do(context.Background(), map[string]any{"command": "ping"}); !errors.Is(err, bencode.ErrSyntax) {
		t.Fatalf("err = %v", err)
	}
}
