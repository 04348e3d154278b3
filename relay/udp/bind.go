package udp

import (
	"errors"
	"fmt"
	"net/netip"
)

// Pair is a bound RTP/RTCP socket pair on adjacent ports.
type Pair struct {
	RTP, RTCP Conn
	Port      uint16 // RTP port; RTCP is Port+1
}

// Close closes both sockets.
func (p Pair) Close() {
	if p.RTP != nil {
		p.RTP.Close()
	}
	if p.RTCP != nil {
		p.RTCP.Close()
	}
}

// bindAttempts bounds how many pairs BindPair tries when ports are taken by
// other processes, so a foreign port squatter cannot make setup spin.
const bindAttempts = 8

// BindPair draws a pair from pool and binds both ports on addr. A pair that
// fails to bind goes back through quarantine and another is tried. Running
// out of pairs yields ErrExhausted.
func BindPair(n Network, pool *Pool, addr netip.Addr) (Pair, error) {
	var lastErr error
	for range bindAttempts {
		port, err := pool.Get()
		if err != nil {
			return Pair{}, err
		}
		rtp, err := n.ListenUDP(netip.AddrPortFrom(addr, port))
		if err != nil {
			pool.Put(port)
			lastErr = err
			continue
		}
		rtcp, err := n.ListenUDP(netip.AddrPortFrom(addr, port+1))
		if err != nil {
			rtp.Close()
			pool.Put(port)
			lastErr = err
			continue
		}
		return Pair{RTP: rtp, RTCP: rtcp, Port: port}, nil
	}
	return Pair{}, fmt.Errorf("binding media ports on %s: %w", addr, errors.Join(ErrExhausted, lastErr))
}
