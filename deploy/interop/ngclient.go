package interop

// NGClient speaks rtpengine's ng protocol over UDP the way Kamailio does
// (ng-protocol.md b.1): the same datagram, same cookie, resent until the
// reply with that cookie arrives. Each exchange is appended to a transcript
// so a failing test shows what it sent and got.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NGClient is one ng control socket. Set Resend before the first Command.
type NGClient struct {
	conn *net.UDPConn
	// Resend is how long Command waits for a reply before sending the
	// datagram again (Kamailio's rtpengine module: 1 s, the default).
	Resend time.Duration

	mu         sync.Mutex
	transcript []string
}

// DialNG opens a client socket toward the relay's ng address (host:port).
// The socket belongs to the network namespace of the calling thread.
func DialNG(addr string) (*NGClient, error) {
	ra, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP("udp4", nil, ra)
	if err != nil {
		return nil, err
	}
	return &NGClient{conn: c, Resend: time.Second}, nil
}

// Close closes the socket.
func (c *NGClient) Close() { _ = c.conn.Close() }

// NGError is an ng reply whose result is not "ok" or "pong".
type NGError struct {
	Command, Result, Reason string // Reason is the reply's error-reason
}

func (e *NGError) Error() string {
	return fmt.Sprintf("ng %s: result %q, error-reason %q", e.Command, e.Result, e.Reason)
}

// Command sends req (whose "command" entry names it) and returns the decoded
// reply dictionary. A reply whose result is not ok/pong is returned together
// with an *NGError. Command gives up when ctx ends.
func (c *NGClient) Command(ctx context.Context, req Dict) (Value, error) {
	body, err := Encode(req)
	if err != nil {
		return Value{}, err
	}
	cmd := "?"
	for _, e := range req {
		if e.Key == "command" {
			cmd, _ = e.Val.(string)
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
			return Value{}, err
		}
		deadline := time.Now().Add(c.Resend)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = c.conn.SetReadDeadline(deadline)
		for {
			n, err := c.conn.Read(buf)
			if errors.Is(err, syscall.ECONNREFUSED) {
				// ICMP port unreachable: the relay has not bound its
				// socket yet. Treat it as silence and resend after the
				// interval rather than at once.
				continue
			}
			if err != nil {
				break // timeout: resend
			}
			got, body, err := SplitNG(buf[:n])
			if err != nil || got != cookie {
				continue // a late reply to an earlier cookie
			}
			c.note("<< %s %s", got, body)
			v, err := Decode(body)
			if err != nil {
				return Value{}, fmt.Errorf("ng %s reply: %w", cmd, err)
			}
			if v.Kind != 'd' {
				return Value{}, fmt.Errorf("ng %s reply is not a dictionary", cmd)
			}
			if r := string(v.Get("result").Str); r != "ok" && r != "pong" {
				return v, &NGError{Command: cmd, Result: r, Reason: string(v.Get("error-reason").Str)}
			}
			return v, nil
		}
		if ctx.Err() != nil {
			return Value{}, fmt.Errorf("ng %s: no reply: %w", cmd, ctx.Err())
		}
	}
}

func (c *NGClient) note(format string, args ...any) {
	c.mu.Lock()
	c.transcript = append(c.transcript, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// Log returns the transcript so far: every datagram sent (">>") and every
// reply matched ("<<"), one per line with a timestamp.
func (c *NGClient) Log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.transcript, "\n")
}
