package webrtc

// ngClient speaks rtpengine's ng protocol over UDP the way Kamailio does
// (ng-protocol.md b.1): "<cookie> <bencode dict>", the same datagram resent
// every second until the reply with that cookie arrives. Each exchange is
// appended to a transcript so a failing test shows what it sent and got.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type ngClient struct {
	conn   *net.UDPConn
	resend time.Duration

	mu         sync.Mutex
	transcript []string
}

func dialNG(addr string) (*ngClient, error) {
	ra, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP("udp4", nil, ra)
	if err != nil {
		return nil, err
	}
	return &ngClient{conn: c, resend: time.Second}, nil
}

func (c *ngClient) close() { _ = c.conn.Close() }

// ngError is an ng reply with result "error" (or anything but "ok"/"pong").
type ngError struct {
	command, result, reason string
}

func (e *ngError) Error() string {
	return fmt.Sprintf("ng %s: result %q, error-reason %q", e.command, e.result, e.reason)
}

// command sends req (whose first entry should be "command") and returns the
// decoded reply dictionary. A reply whose result is not ok/pong is returned
// together with an *ngError.
func (c *ngClient) command(ctx context.Context, req dict) (bvalue, error) {
	body, err := bencode(req)
	if err != nil {
		return bvalue{}, err
	}
	cmd := "?"
	for _, e := range req {
		if e.key == "command" {
			cmd, _ = e.val.(string)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	cookie := hex.EncodeToString(rnd[:])
	dgram := append([]byte(cookie+" "), body...)
	c.note(">> %s", dgram)
	buf := make([]byte, 65536)
	for {
		if _, err := c.conn.Write(dgram); err != nil {
			return bvalue{}, err
		}
		deadline := time.Now().Add(c.resend)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = c.conn.SetReadDeadline(deadline)
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				break // timeout (resend) or ICMP refused while the relay starts
			}
			got, body, err := splitNG(buf[:n])
			if err != nil || got != cookie {
				continue // a late reply to an earlier cookie
			}
			c.note("<< %s %s", got, body)
			v, err := bdecode(body)
			if err != nil {
				return bvalue{}, fmt.Errorf("ng %s reply: %w", cmd, err)
			}
			if v.kind != 'd' {
				return bvalue{}, fmt.Errorf("ng %s reply is not a dictionary", cmd)
			}
			if r := string(v.get("result").str); r != "ok" && r != "pong" {
				return v, &ngError{command: cmd, result: r, reason: string(v.get("error-reason").str)}
			}
			return v, nil
		}
		if ctx.Err() != nil {
			return bvalue{}, fmt.Errorf("ng %s: no reply: %w", cmd, ctx.Err())
		}
	}
}

func (c *ngClient) note(format string, args ...any) {
	c.mu.Lock()
	c.transcript = append(c.transcript, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// log returns the transcript so far.
func (c *ngClient) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.transcript, "\n")
}

// splitNG splits an ng datagram "<cookie> <bencode>" (ng-protocol.md b.1).
func splitNG(dgram []byte) (cookie string, body []byte, err error) {
	s := string(dgram)
	sp := strings.IndexByte(s, ' ')
	if sp <= 0 {
		return "", nil, errors.New("ng: no cookie")
	}
	return s[:sp], dgram[sp+1:], nil
}

// fakeRelay answers ng datagrams with reply(cookie, body); drop makes it
// ignore the first n datagrams, to exercise the resend.
func fakeRelay(t *testing.T, drop int, reply func(body []byte) string) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for seen := 0; ; seen++ {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if seen < drop {
				continue
			}
			cookie, body, err := splitNG(buf[:n])
			if err != nil {
				continue
			}
			_, _ = c.WriteToUDP([]byte("stale d6:result4:ponge"), from)
			_, _ = c.WriteToUDP([]byte(cookie+" "+reply(body)), from)
		}
	}()
	return c.LocalAddr().String()
}

func TestNGClient(t *testing.T) {
	tests := []struct {
		name       string
		drop       int
		reply      string
		wantErr    bool
		wantReason string
	}{
		{name: "pong", reply: "d6:result4:ponge"},
		{name: "resend after a lost datagram", drop: 1, reply: "d6:result2:oke"},
		{name: "error reply", reply: "d6:result5:error12:error-reason15:Unknown call-ide", wantErr: true, wantReason: "Unknown call-id"},
		{name: "undecodable reply", reply: "d6:result", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := make(chan string, 8)
			addr := fakeRelay(t, tt.drop, func(body []byte) string {
				v, _ := bdecode(body)
				cmds <- string(v.get("command").str)
				return tt.reply
			})
			c, err := dialNG(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			c.resend = 100 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = c.command(ctx, dict{{"command", "ping"}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v\n%s", err, tt.wantErr, c.log())
			}
			var ne *ngError
			if tt.wantReason != "" && (!errors.As(err, &ne) || ne.reason != tt.wantReason) {
				t.Errorf("err = %v, want reason %q", err, tt.wantReason)
			}
			if got := <-cmds; got != "ping" {
				t.Errorf("relay saw command %q", got)
			}
			if !strings.Contains(c.log(), ">> ") || !strings.Contains(c.log(), "<< ") {
				t.Errorf("transcript lacks request or reply:\n%s", c.log())
			}
		})
	}
}

func TestNGClientTimeout(t *testing.T) {
	addr := fakeRelay(t, 1000, func([]byte) string { return "" })
	c, err := dialNG(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.resend = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.command(ctx, dict{{"command", "ping"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}
