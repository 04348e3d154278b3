package ng

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// maxInFlight bounds the requests ServeUDP processes at once. Each runs in
// its own goroutine so that a slow offer neither delays pings nor keeps a
// retransmission from reaching the reply cache (where it waits for the
// original instead of being processed twice). When all slots are busy the
// read loop stops reading and the kernel's socket buffer absorbs the rest.
const maxInFlight = 128

// ServeUDP reads ng datagrams from conn and answers each from the address
// it came from. It returns nil when ctx is done or conn is closed, after
// every request it started has finished, and an error if reading fails
// otherwise. It does not close conn.
func (s *Server) ServeUDP(ctx context.Context, conn *net.UDPConn) error {
	// A read deadline in the past unblocks ReadFrom when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxInFlight)
	// One byte more than the limit tells an oversized datagram from one
	// that fits exactly.
	buf := make([]byte, s.cfg.MaxMessage+1)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if n > s.cfg.MaxMessage {
			if s.allowed(from.Addr()) {
				s.dropped(from, DropTooLarge)
			} else {
				s.reject(from)
			}
			continue
		}
		msg := make([]byte, n)
		copy(msg, buf[:n])
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if reply := s.Handle(ctx, msg, from); reply != nil {
				if _, err := conn.WriteToUDPAddrPort(reply, from); err != nil {
					if ok, _ := s.warns.allow(); ok {
						s.log.Warn("ng: cannot send reply", "client", from, "bytes", len(reply), "error", err)
					}
				}
			}
		})
	}
}
