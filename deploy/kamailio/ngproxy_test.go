package kamailio

// ngTap is a recording UDP forwarder placed between Kamailio and the relay's
// ng socket. It shows exactly which datagrams Kamailio's rtpengine module
// sends (offer, answer, delete, retransmissions) and what the relay replies,
// without packet capture privileges. Each client address gets its own
// upstream socket, so replies find their way back to the Kamailio worker that
// asked (every worker process has its own ng socket).

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

// ngDatagram is one datagram seen by the tap.
type ngDatagram struct {
	at     time.Time
	client string // Kamailio worker address
	toward string // "relay" for requests, "client" for replies
	data   []byte
}

type ngTap struct {
	ln    *net.UDPConn
	relay *net.UDPAddr

	mu      sync.Mutex
	log     []ngDatagram
	clients map[string]*net.UDPConn
	closed  bool
	wg      sync.WaitGroup
}

// startNGTap listens on a free loopback port and forwards to relay.
func startNGTap(relay string) (*ngTap, error) {
	raddr, err := net.ResolveUDPAddr("udp4", relay)
	if err != nil {
		return nil, err
	}
	ln, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	t := &ngTap{ln: ln, relay: raddr, clients: map[string]*net.UDPConn{}}
	t.wg.Add(1)
	go t.serve()
	return t, nil
}

func (t *ngTap) addr() string { return t.ln.LocalAddr().String() }

func (t *ngTap) record(client, toward string, b []byte) {
	t.mu.Lock()
	t.log = append(t.log, ngDatagram{at: time.Now(), client: client, toward: toward, data: bytes.Clone(b)})
	t.mu.Unlock()
}

func (t *ngTap) serve() {
	defer t.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := t.ln.ReadFromUDP(buf)
		if err != nil {
			return
		}
		t.record(from.String(), "relay", buf[:n])
		up, err := t.upstreamFor(from)
		if err != nil {
			continue
		}
		_, _ = up.Write(buf[:n])
	}
}

// upstreamFor returns (creating on first use) the socket that carries one
// client's requests to the relay, and starts copying the replies back.
func (t *ngTap) upstreamFor(client *net.UDPAddr) (*net.UDPConn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.clients[client.String()]; ok {
		return c, nil
	}
	if t.closed {
		return nil, net.ErrClosed
	}
	c, err := net.DialUDP("udp4", nil, t.relay)
	if err != nil {
		return nil, err
	}
	t.clients[client.String()] = c
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // ICMP port unreachable while the relay (re)starts
			}
			t.record(client.String(), "client", buf[:n])
			_, _ = t.ln.WriteToUDP(buf[:n], client)
		}
	}()
	return c, nil
}

// datagrams returns a copy of everything recorded so far.
func (t *ngTap) datagrams() []ngDatagram {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]ngDatagram(nil), t.log...)
}

func (t *ngTap) close() {
	t.mu.Lock()
	t.closed = true
	_ = t.ln.Close()
	for _, c := range t.clients {
		_ = c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// ngExchange pairs a request with its reply (matched by cookie).
type ngExchange struct {
	at      time.Time // first send
	command string
	cookie  string
	req     []byte
	reqDict interop.Value
	rep     []byte // nil if the relay never answered
	repDict interop.Value
	sends   int // how many times the client sent this cookie (retransmissions)
}

// exchanges decodes the tap log into request/reply pairs in request order.
// Undecodable datagrams are returned in bad so the caller can fail on them.
func exchanges(log []ngDatagram) (ex []*ngExchange, bad []ngDatagram) {
	byCookie := map[string]*ngExchange{}
	for _, d := range log {
		cookie, v, err := interop.DecodeNG(d.data)
		if err != nil {
			bad = append(bad, d)
			continue
		}
		key := d.client + " " + cookie
		e := byCookie[key]
		if d.toward == "relay" {
			if e == nil {
				e = &ngExchange{at: d.at, command: string(v.Get("command").Str), cookie: cookie, req: d.data, reqDict: v}
				byCookie[key] = e
				ex = append(ex, e)
			}
			e.sends++
			continue
		}
		if e != nil && e.rep == nil {
			e.rep, e.repDict = d.data, v
		}
	}
	return ex, bad
}

func TestNGTapForwardsAndRecords(t *testing.T) {
	relay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	go func() { // a relay that answers every ping
		buf := make([]byte, 1500)
		for {
			n, from, err := relay.ReadFromUDP(buf)
			if err != nil {
				return
			}
			cookie, _, _ := interop.SplitNG(buf[:n])
			_, _ = relay.WriteToUDP([]byte(cookie+" d6:result4:ponge"), from)
		}
	}()
	tap, err := startNGTap(relay.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tap.close()

	c, err := net.Dial("udp4", tap.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, req := range []string{"5_1 d7:command4:pinge", "5_1 d7:command4:pinge", "5_2 d7:command4:pinge"} {
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(buf[:n], []byte("d6:result4:ponge")) {
			t.Fatalf("reply %q", buf[:n])
		}
	}
	ex, bad := exchanges(tap.datagrams())
	if len(bad) != 0 || len(ex) != 2 {
		t.Fatalf("exchanges %d, bad %d", len(ex), len(bad))
	}
	if ex[0].sends != 2 || ex[0].command != "ping" || ex[0].rep == nil {
		t.Errorf("first exchange: %+v", ex[0])
	}
	if got := string(ex[1].repDict.Get("result").Str); got != "pong" {
		t.Errorf("second reply result %q", got)
	}
}
