package relay

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
)

// Answer completes an offer/answer exchange (ng `answer`): it records the
// answerer's media, returns the SDP for the offerer, publishes the routes
// and starts the DTLS-SRTP handshakes.
func (r *Relay) Answer(_ context.Context, req *Request) ([]byte, error) {
	out, starts, err := r.answer(req)
	if err != nil {
		r.log.Info("answer refused", "call_id", req.CallID, "err", err)
		return nil, err
	}
	for _, st := range starts {
		r.startHandshake(st)
	}
	return out, nil
}

func (r *Relay) answer(req *Request) ([]byte, []handshakeStart, error) {
	switch {
	case req.CallID == "":
		return nil, nil, ErrNoCallID
	case req.FromTag == "":
		return nil, nil, ErrNoFromTag
	case req.ToTag == "":
		return nil, nil, ErrNoToTag
	}
	expandWebRTC(req)
	if err := checkRequestPolicy(req); err != nil {
		return nil, nil, err
	}
	src, err := parseSDP(req.SDP)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSourcePolicy(src); err != nil {
		return nil, nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[req.CallID]
	if c == nil {
		return nil, nil, ErrUnknownCall
	}
	offerer := c.legByTag(req.FromTag)
	if offerer == nil {
		return nil, nil, fmt.Errorf("%w: from-tag %q is not a party of this call", ErrUnknownCall, req.FromTag)
	}
	answerer := offerer.other()
	if answerer.tag != req.ToTag {
		if answerer.tag != "" {
			// A different fork answered: the last answer wins, as the
			// proxy only relays one final answer per call.
			c.log.Info("answerer tag changed", "old", answerer.tag, "new", req.ToTag)
		}
		answerer.tag = req.ToTag
	}
	// The label of an answer names the party whose SDP it carries, as in
	// rtpengine: the answerer (to-label, or label).
	if req.ToLabel != "" {
		answerer.label = req.ToLabel
	} else if req.FromLabel != "" {
		answerer.label = req.FromLabel
	}
	if len(src.medias) != len(answerer.medias) {
		return nil, nil, fmt.Errorf("%w: answer has %d m= lines, the offer had %d (RFC 3264 §6)", ErrBadSDP, len(src.medias), len(answerer.medias))
	}
	for i, sm := range src.medias {
		if sm.port != 0 && answerer.secure() && !sm.transport.DTLS() {
			return nil, nil, &PolicyError{Reason: fmt.Sprintf("the upstream answered m= line %d with plain %s: srtpgw refuses plaintext upstream", i+1, sm.transport)}
		}
	}
	if err := answerer.applyRemoteLocked(src, req); err != nil {
		return nil, nil, err
	}
	for i, sm := range src.medias {
		m := answerer.medias[i]
		m.setICEActive(m.iceActive())
		// RFC 5761 §5.1.1: the answerer may only multiplex if offered.
		m.mux = m.offerMux && sm.mux
		if answerer.secure() && !m.disabled {
			if m.role, err = crypto.OffererRole(sm.setup); err != nil {
				return nil, nil, fmt.Errorf("%w: m= line %d: %v", ErrBadSDP, i+1, err)
			}
		}
	}
	offerer.setICE(req.ICE)
	for _, m := range offerer.medias {
		m.setICEActive(m.iceActive())
		m.mux = m.peerMux && req.RTCPMux&(RTCPMuxDemux|RTCPMuxReject) == 0
		if offerer.secure() && !m.disabled {
			if m.role, err = roleAsAnswerer(m.setupRemote, req.DTLS); err != nil {
				return nil, nil, fmt.Errorf("%w: media %d: %v", ErrBadSDP, m.index, err)
			}
		}
	}
	out, err := offerer.render(src, renderOpts{
		replace:     req.Replace,
		noRTCPAttr:  req.Flags.NoRTCPAttribute,
		generateMid: req.Flags.GenerateMid,
	})
	if err != nil {
		return nil, nil, err
	}
	now := r.cfg.Now()
	if !c.answered {
		c.answered, c.answeredAt = true, now
		c.log.Info("call answered", "to_tag", answerer.tag)
	}
	c.offerFrom = -1
	c.lastSignal = now
	r.publishRoutesLocked(c)
	return out, r.handshakeStartsLocked(c), nil
}

// roleAsAnswerer is srtpgw's DTLS role when it answers an offer carrying
// setup (RFC 5763 §5, crypto.AnswerSetup); pref is the ng DTLS key of the
// answer request, which may ask for the passive side of an actpass offer.
func roleAsAnswerer(setup string, pref DTLSMode) (crypto.Role, error) {
	_, role, err := crypto.AnswerSetup(setup)
	if err == nil && pref == DTLSPassive && strings.EqualFold(strings.TrimSpace(setup), crypto.SetupActpass) {
		role = crypto.RoleServer
	}
	return role, err
}

// publishRoutesLocked builds and publishes the routes of every media pair.
// Routes are immutable; a re-answer publishes new ones and the packet path
// picks them up on its next packet, without dropping the call.
func (r *Relay) publishRoutesLocked(c *Call) {
	var learnUntil int64
	if r.cfg.LearnWindow > 0 {
		learnUntil = c.answeredAt.Add(r.cfg.LearnWindow).UnixNano()
	}
	a, b := c.legs[0], c.legs[1]
	for i := range a.medias {
		ma, mb := a.medias[i], b.medias[i]
		if ma.disabled || mb.disabled {
			for _, m := range []*Media{ma, mb} {
				m.rtp.route.Store(nil)
				m.rtcp.route.Store(nil)
			}
			continue
		}
		for _, p := range [][2]*Media{{ma, mb}, {mb, ma}} {
			from, to := p[0], p[1]
			enc := to.leg.secure()
			learn := int64(0)
			if !from.leg.secure() {
				learn = learnUntil
			}
			// With RTCP multiplexed, the RTP socket carries both classes;
			// without, each socket carries only its own, so that each
			// SRTP context is used by exactly one goroutine.
			from.rtp.route.Store(&route{
				learnUntil: learn,
				rtpOK:      true,
				rtcpOK:     from.mux,
				rtp:        egress{sink: to.rtp, encrypt: enc},
				rtcp:       egress{sink: to.rtcpSink(), encrypt: enc},
			})
			if from.mux {
				from.rtcp.route.Store(nil)
			} else {
				from.rtcp.route.Store(&route{
					learnUntil: learn,
					rtcpOK:     true,
					rtcp:       egress{sink: to.rtcpSink(), encrypt: enc},
				})
			}
		}
	}
}

// handshakeStart is one DTLS association to start after the lock is gone.
type handshakeStart struct {
	call     *Call
	stream   *Stream
	cfg      crypto.EndpointConfig
	deadline time.Time // overall bound across retries when the caps are full
}

// handshakeStartsLocked lists the DTLS associations the call now needs: one
// per component of each DTLS-SRTP media (one in all when RTCP is muxed,
// RFC 5764 §4.1). An association already running for the same role,
// fingerprints and peer is kept.
func (r *Relay) handshakeStartsLocked(c *Call) []handshakeStart {
	var starts []handshakeStart
	for _, l := range c.legs {
		if !l.secure() {
			continue
		}
		for _, m := range l.medias {
			for _, s := range m.streams() {
				if m.disabled || (s.component == 2 && m.mux) {
					if s.dtlsIdentity != "" {
						s.dtlsIdentity = ""
						s.closeEndpoint()
						s.session.Store(nil)
					}
					continue
				}
				// With ICE the peer's address comes from nomination and
				// may change with it; it is not part of the association.
				peer := s.Remote()
				if s.ice.Load() != nil {
					peer = netip.AddrPort{}
				}
				id := fmt.Sprintf("%d|%v|%s", m.role, m.fingerprints, peer)
				if id == s.dtlsIdentity && (s.endpoint.Load() != nil || s.pending.Load() != nil) {
					continue
				}
				if s.dtlsIdentity != "" {
					c.log.Info("new DTLS association", "media", m.index, "component", s.component)
				}
				s.dtlsIdentity = id
				st := handshakeStart{call: c, stream: s, cfg: crypto.EndpointConfig{
					Role:             m.role,
					Certificate:      c.cert,
					PeerFingerprints: m.fingerprints,
					Peer:             s.Remote(),
					Send:             s.send,
					Timeout:          r.cfg.HandshakeTimeout,
					Limiter:          r.cfg.Handshakes,
				}}
				if ice := s.ice.Load(); ice != nil {
					// DTLS runs on the nominated pair (RFC 8842 §4): wait
					// for nomination unless it happened already.
					if nom := ice.nominated.Load(); nom != nil {
						st.cfg.Peer = *nom
					} else {
						s.closeEndpoint()
						s.session.Store(nil)
						s.pending.Store(&st)
						continue
					}
				}
				starts = append(starts, st)
			}
		}
	}
	return starts
}
