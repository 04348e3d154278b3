package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/srtpgw/srtpgw/relay/udp"
)

// addMediaLocked binds a port pair for m= line idx (1-based) of leg l and
// starts its read loops. Loops run from the offer on, so that early DTLS
// records are kept and stray packets are counted before the answer.
func (r *Relay) addMediaLocked(l *Leg, idx int, typ string) (*Media, error) {
	pair, err := udp.BindPair(r.cfg.Network, l.pool, l.iface.Addr)
	if err != nil {
		if errors.Is(err, udp.ErrExhausted) {
			return nil, fmt.Errorf("%w on interface %s: %v", ErrNoPorts, l.iface.Name, err)
		}
		return nil, err
	}
	m := &Media{leg: l, index: idx, typ: typ, port: pair.Port}
	m.rtp = newStream(m, 1, pair.RTP, l.iface.Advertised, l.secure(), r.clock)
	m.rtcp = newStream(m, 2, pair.RTCP, l.iface.Advertised, l.secure(), r.clock)
	l.medias = append(l.medias, m)
	// A call's sockets share one poller worker, for cache locality.
	group := uint32(r.totalCalls.Load())
	for _, s := range m.streams() {
		if pc, ok := s.conn.(*udp.FDConn); ok {
			s.polled = true // closeMedia closes done for it, attached or not
			if err := pc.Attach(s, group); err != nil {
				return nil, err
			}
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			s.readLoop()
		}()
	}
	return m, nil
}

// closeMedia stops m's streams and returns its ports to quarantine. It
// blocks until both read loops have returned, so no packet is handled on a
// released port.
func closeMedia(m *Media, advertised bool) {
	for _, s := range m.streams() {
		s.closeEndpoint()
		s.conn.Close() // a polled socket's Close waits until its worker let go
		if s.polled {
			close(s.done)
		}
	}
	for _, s := range m.streams() {
		<-s.done
	}
	if advertised {
		m.leg.pool.Put(m.port)
	} else {
		m.leg.pool.PutUnused(m.port)
	}
}

// endCall tears a call down and emits its final record. It is idempotent,
// and must be called without Relay.mu held: it waits for read loops.
func (r *Relay) endCall(c *Call, reason EndReason) {
	r.mu.Lock()
	if c.ended {
		r.mu.Unlock()
		return
	}
	c.ended = true
	if r.calls[c.id] == c {
		delete(r.calls, c.id)
	}
	var medias []*Media
	for _, l := range c.legs {
		medias = append(medias, l.medias...)
	}
	r.mu.Unlock()

	c.cancel()
	for _, m := range medias {
		closeMedia(m, true)
	}
	now := r.cfg.Now()

	r.mu.Lock()
	rec := c.recordLocked()
	end := c.endRecordLocked(reason, now)
	for _, m := range medias {
		into := &r.endedPhone
		if m.leg.secure() {
			into = &r.endedUpstream
		}
		for _, s := range m.streams() {
			snap := s.stats.snapshot()
			into.Add(&snap)
		}
	}
	r.mu.Unlock()

	r.countEnd(reason)
	if c.answered {
		r.durationSum.Add(int64(now.Sub(c.created)))
		r.durationN.Add(1)
	}
	c.log.Info("call ended", "reason", string(reason), "duration", now.Sub(c.created).Round(time.Millisecond),
		"phone_to_upstream", end.PhoneToUpstream.Forwarded, "upstream_to_phone", end.UpstreamToPhone.Forwarded)
	r.events.CallEnded(rec, end)
}

// discardNewCall undoes a call that failed during its first offer: no
// record was emitted for it, so none is emitted now.
func (r *Relay) discardNewCallLocked(c *Call) []*Media {
	c.ended = true
	if r.calls[c.id] == c {
		delete(r.calls, c.id)
	}
	c.cancel()
	var medias []*Media
	for _, l := range c.legs {
		if l != nil {
			medias = append(medias, l.medias...)
		}
	}
	return medias
}

func callLogger(base *slog.Logger, c *Call) *slog.Logger {
	return base.With("call_id", c.id, "call_uid", c.uid)
}
