package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// ngClient is the minimal ng client the demo plays the SIP proxy with:
// one bencoded request per datagram, retransmitted with the same cookie
// like Kamailio's rtpengine module (ng-protocol.md b.3).
type ngClient struct {
	conn *net.UDPConn
	seq  int
	id   string
}

func dialNG(addr netip.AddrPort) (*ngClient, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	var b [4]byte
	rand.Read(b[:])
	return &ngClient{conn: c, id: hex.EncodeToString(b[:])}, nil
}

// call sends one command and returns the reply dictionary. An `error`
// result becomes a Go error carrying error-reason.
func (c *ngClient) call(entries ...ng.Entry) (ng.Value, error) {
	c.seq++
	cookie := fmt.Sprintf("%s_%d", c.id, c.seq)
	msg := append([]byte(cookie+" "), ng.Encode(ng.Dict(entries...))...)
	buf := make([]byte, 65536)
	for try := 0; try < 5; try++ {
		if _, err := c.conn.Write(msg); err != nil {
			return ng.Value{}, err
		}
		c.conn.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // retransmit
				}
				return ng.Value{}, err
			}
			rest, ok := bytes.CutPrefix(buf[:n], []byte(cookie+" "))
			if !ok {
				continue // a stale reply to an earlier cookie
			}
			v, err := ng.Decode(rest)
			if err != nil {
				return ng.Value{}, fmt.Errorf("bad ng reply: %w", err)
			}
			if r, _ := v.Get("result").Str(); r == "error" {
				reason, _ := v.Get("error-reason").Str()
				return v, fmt.Errorf("ng error: %s", reason)
			}
			return v, nil
		}
	}
	return ng.Value{}, errors.New("no ng reply after 5 tries")
}

func (c *ngClient) Close() { c.conn.Close() }

// strs is an ng list of strings.
func strs(ss ...string) ng.Value {
	vs := make([]ng.Value, len(ss))
	for i, s := range ss {
		vs[i] = ng.String(s)
	}
	return ng.List(vs...)
}
