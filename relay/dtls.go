package relay

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
)

// startHandshake creates the DTLS endpoint for one component and runs the
// handshake on its own goroutine. Until it succeeds the stream has no keys,
// so media toward it is dropped as no_keys: fail closed.
func (r *Relay) startHandshake(st handshakeStart) {
	s, c := st.stream, st.call
	s.closeEndpoint()
	s.session.Store(nil)
	ep, err := crypto.NewEndpoint(st.cfg)
	if err != nil {
		r.handshakeFailed(c, s, st.cfg.Role, err)
		return
	}
	s.attachEndpoint(ep)
	if st.deadline.IsZero() {
		st.deadline = time.Now().Add(st.cfg.Timeout)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.runHandshake(st, ep)
	}()
}

// limitRetry is how soon a handshake refused by the concurrency caps tries
// again. The caps protect against floods (security requirement A4); a busy
// legitimate peer (one cloud PBX, many new calls) just waits its turn, and
// its DTLS retransmissions find the new endpoint.
const limitRetry = 200 * time.Millisecond

func (r *Relay) runHandshake(st handshakeStart, ep *crypto.Endpoint) {
	c, s, role := st.call, st.stream, st.cfg.Role
	res, err := ep.Handshake(c.ctx)
	if c.ctx.Err() != nil || s.endpoint.Load() != ep {
		return // the call ended, or a re-answer replaced this association
	}
	if errors.Is(err, crypto.ErrHandshakeLimit) && time.Now().Add(limitRetry).Before(st.deadline) {
		select {
		case <-c.ctx.Done():
		case <-time.After(limitRetry):
			if s.endpoint.Load() == ep {
				r.startHandshake(st)
			}
		}
		return
	}
	if err != nil {
		r.handshakeFailed(c, s, role, err)
		return
	}
	sess, err := crypto.NewSession(res.Keys, r.cfg.ReplayWindow)
	res.Keys.Wipe()
	if err != nil {
		r.handshakeFailed(c, s, role, err)
		return
	}
	s.session.Store(sess)
	r.handshakes.record(handshakeOK, res.Duration)
	d := DTLSRecord{
		Component:       s.component,
		Media:           s.media.index,
		Role:            role.String(),
		Profile:         res.Profile.String(),
		CipherSuite:     res.CipherSuite,
		PeerFingerprint: res.PeerFingerprint.String(),
		Duration:        res.Duration,
	}
	r.mu.Lock()
	rec := c.recordLocked()
	r.mu.Unlock()
	c.log.Info("DTLS-SRTP established", "media", d.Media, "component", d.Component, "role", d.Role,
		"profile", d.Profile, "suite", d.CipherSuite, "duration", d.Duration.Round(time.Millisecond))
	r.events.DTLSEstablished(rec, d)
}

// handshakeFailed records the failure and ends the call: a leg that cannot
// be keyed cannot carry media, and the call log must say why.
func (r *Relay) handshakeFailed(c *Call, s *Stream, role crypto.Role, err error) {
	result := handshakeError
	switch {
	case errors.Is(err, crypto.ErrFingerprintMismatch):
		result = handshakeMismatch
	case errors.Is(err, crypto.ErrHandshakeLimit):
		result = handshakeLimited
	case errors.Is(err, crypto.ErrHandshakeTimeout):
		result = handshakeTimeout
	}
	r.handshakes.record(result, 0)
	r.mu.Lock()
	rec := c.recordLocked()
	r.mu.Unlock()
	reason := handshakeResultNames[result] + ": " + err.Error()
	c.log.Warn("DTLS-SRTP handshake failed", "media", s.media.index, "component", s.component, "reason", reason)
	r.events.DTLSFailed(rec, DTLSRecord{Component: s.component, Media: s.media.index, Role: role.String()}, reason)
	// A peer that never keys the separate RTCP port (RFC 5764 §4.1 wants
	// it to) still gets its RTP: the RTCP component just stays without
	// keys, so RTCP toward it is dropped as no_keys, never sent in the
	// clear. Any other failure, and any certificate mismatch, ends the call.
	if s.component == 2 && result != handshakeMismatch {
		return
	}
	go r.endCall(c, EndDTLSFailed)
}

// Handshake results, as metric label values.
const (
	handshakeOK = iota
	handshakeMismatch
	handshakeTimeout
	handshakeLimited
	handshakeError
	numHandshakeResults
)

var handshakeResultNames = [numHandshakeResults]string{"ok", "fingerprint_mismatch", "timeout", "limited", "error"}

// HandshakeBuckets are the upper bounds, in seconds, of the handshake
// duration histogram: a loopback handshake takes milliseconds, one with a
// lost flight a second or more (pion retransmits after 1 s).
var HandshakeBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// HandshakeStats counts DTLS handshakes by result and histograms the
// duration of successful ones, with atomics, for the metrics collector.
type HandshakeStats struct {
	results [numHandshakeResults]atomic.Uint64
	buckets [12]atomic.Uint64 // len(HandshakeBuckets)+1 (+Inf)
	sumNS   atomic.Int64
}

func (h *HandshakeStats) record(result int, d time.Duration) {
	h.results[result].Add(1)
	if result != handshakeOK {
		return
	}
	h.sumNS.Add(int64(d))
	sec := d.Seconds()
	i := 0
	for i < len(HandshakeBuckets) && sec > HandshakeBuckets[i] {
		i++
	}
	h.buckets[i].Add(1)
}

// HandshakeSnapshot is a copy of HandshakeStats.
type HandshakeSnapshot struct {
	Results map[string]uint64
	// Buckets are per-bucket (not cumulative) counts of successful
	// handshakes; the last is +Inf.
	Buckets []uint64
	Sum     time.Duration
}

func (h *HandshakeStats) snapshot() HandshakeSnapshot {
	s := HandshakeSnapshot{Results: map[string]uint64{}, Sum: time.Duration(h.sumNS.Load())}
	for i := range h.results {
		s.Results[handshakeResultNames[i]] = h.results[i].Load()
	}
	for i := range h.buckets {
		s.Buckets = append(s.Buckets, h.buckets[i].Load())
	}
	return s
}
