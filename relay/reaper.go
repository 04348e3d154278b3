package relay

import (
	"time"
)

// Reaper cadence: the coarse clock advances every clockTick; timeouts and
// security bursts are checked every reapEvery ticks.
const (
	clockTick = 100 * time.Millisecond
	reapEvery = 10
)

// reaper advances the coarse clock and ends calls whose time is up, like
// rtpengine's timer: timeout (no media), silent-timeout (no media while on
// hold), final-timeout (hard cap) and delete-delay.
func (r *Relay) reaper() {
	defer r.wg.Done()
	t := time.NewTicker(clockTick)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.clock.tick()
		if n%reapEvery == 0 {
			r.reap()
		}
	}
}

// reap runs one pass over the call table. Calls are ended outside the lock.
func (r *Relay) reap() {
	now := r.cfg.Now()
	type doomed struct {
		c      *Call
		reason EndReason
	}
	var ends []doomed
	var alerts []securityAlert
	r.mu.Lock()
	for _, c := range r.calls {
		if reason, ok := r.expiredLocked(c, now); ok {
			ends = append(ends, doomed{c, reason})
			continue
		}
		alerts = append(alerts, c.securityAlertsLocked(now)...)
	}
	r.mu.Unlock()
	for _, a := range alerts {
		r.events.Security(a.kind, a.rec, a.detail, a.count)
	}
	for _, d := range ends {
		r.endCall(d.c, d.reason)
	}
}

// expiredLocked says whether c must end now, and why.
func (r *Relay) expiredLocked(c *Call, now time.Time) (EndReason, bool) {
	if !c.deleteAt.IsZero() && !now.Before(c.deleteAt) {
		return EndDelete, true
	}
	if r.cfg.FinalTimeout > 0 && now.Sub(c.created) >= r.cfg.FinalTimeout {
		return EndFinalTimeout, true
	}
	if c.keyLimitHit() {
		// RFC 3711 §9.2: a master key may not protect more; srtpgw does
		// not rekey, so the call ends rather than send in the clear.
		return EndKeyLimit, true
	}
	idle := now.Sub(time.Unix(0, c.lastActivity()))
	if c.answered {
		// Once answered, the call ends when either party has been silent
		// too long: an upstream that vanished does not stay "alive"
		// because the phone keeps talking to it (RTCP counts as activity,
		// so a party that pauses its RTP for silence is not cut off).
		idle = now.Sub(time.Unix(0, c.quietestLeg()))
	}
	if c.onHold() {
		if r.cfg.SilentTimeout > 0 && idle >= r.cfg.SilentTimeout {
			return EndSilentTimeout, true
		}
		return "", false
	}
	if idle >= r.cfg.Timeout {
		return EndTimeout, true
	}
	return "", false
}
