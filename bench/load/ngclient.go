package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srtpgw/srtpgw/bench/bencode"
)

// NGError is an ng reply with result "error" (or "load limit").
type NGError struct {
	Command string
	Result  string
	Reason  string
}

func (e *NGError) Error() string {
	return fmt.Sprintf("ng %s: %s: %s", e.Command, e.Result, e.Reason)
}

// ErrNGTimeout means no reply arrived after every retransmission.
var ErrNGTimeout = errors.New("ng: no reply")

// NGClient speaks ng over UDP the way Kamailio's rtpengine module does:
// one socket, a unique cookie per command, the identical datagram resent
// on timeout (so the server's cookie cache answers a retransmission without
// repeating the work), replies matched by cookie. Many commands may be in
// flight at once.
type NGClient struct {
	conn *net.UDPConn
	// Timeout is the wait before each retransmission; Retries the number
	// of sends in total. Kamailio's defaults are 1 s and 5.
	Timeout time.Duration
	Retries int

	prefix  string
	seq     atomic.Uint64
	mu      sync.Mutex
	pending map[string]chan []byte
	done    chan struct{}
	retrans atomic.Uint64
}

// DialNG connects to an ng server at addr ("127.0.0.1:2223").
func DialNG(addr string) (*NGClient, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return nil, err
	}
	c := &NGClient{
		conn:    conn,
		Timeout: time.Second,
		Retries: 5,
		prefix:  strconv.Itoa(os.Getpid()) + "_" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10) + "_",
		pending: map[string]chan []byte{},
		done:    make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// Retransmissions counts datagrams resent after a timeout.
func (c *NGClient) Retransmissions() uint64 { return c.retrans.Load() }

// Close stops the client; commands in flight fail.
func (c *NGClient) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}

func (c *NGClient) readLoop() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ECONNREFUSED while the server starts: retries cover it
		}
		cookie, body, ok := bytes.Cut(buf[:n], []byte{' '})
		if !ok {
			continue
		}
		c.mu.Lock()
		ch := c.pending[string(cookie)]
		delete(c.pending, string(cookie))
		c.mu.Unlock()
		if ch != nil {
			ch <- append([]byte(nil), body...)
		}
	}
}

// Do sends one command and returns the decoded reply dictionary. A reply
// with result "error" or "load limit" is returned as *NGError.
func (c *NGClient) Do(ctx context.Context, req map[string]any) (map[string]any, error) {
	cookie := c.prefix + strconv.FormatUint(c.seq.Add(1), 10)
	msg := append([]byte(cookie), ' ')
	msg, err := bencode.Append(msg, req)
	if err != nil {
		return nil, err
	}
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[cookie] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, cookie)
		c.mu.Unlock()
	}()
	cmd, _ := req["command"].(string)
	retries := max(c.Retries, 1)
	for try := 0; try < retries; try++ {
		if try > 0 {
			c.retrans.Add(1)
		}
		if _, err := c.conn.Write(msg); err != nil && !isRefused(err) {
			return nil, fmt.Errorf("ng %s: %w", cmd, err)
		}
		t := time.NewTimer(c.Timeout)
		select {
		case body := <-ch:
			t.Stop()
			return parseReply(cmd, body)
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return nil, fmt.Errorf("%w to %s after %d tries", ErrNGTimeout, cmd, retries)
}

func parseReply(cmd string, body []byte) (map[string]any, error) {
	m, err := bencode.DecodeDict(body)
	if err != nil {
		return nil, fmt.Errorf("ng %s reply: %w", cmd, err)
	}
	switch r := bencode.String(m, "result"); r {
	case "ok", "pong":
		return m, nil
	case "load limit":
		return m, &NGError{Command: cmd, Result: r, Reason: bencode.String(m, "message")}
	default:
		return m, &NGError{Command: cmd, Result: r, Reason: bencode.String(m, "error-reason")}
	}
}
