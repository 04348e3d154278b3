package relay

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// Offer anchors the offerer's media and returns the SDP for the answerer
// (ng `offer`, ng-protocol.md b.5). A first offer creates the call; a later
// one from either party (re-INVITE: hold, resume, new port) keeps the ports
// and updates the call in place.
func (r *Relay) Offer(_ context.Context, req *Request) ([]byte, error) {
	out, rec, isNew, err := r.offer(req)
	if err != nil {
		if isNew {
			r.rejected.Add(1)
		}
		r.log.Info("offer refused", "call_id", req.CallID, "err", err)
		return nil, err
	}
	if isNew {
		r.events.CallStarted(rec)
	}
	return out, nil
}

func (r *Relay) offer(req *Request) (out []byte, rec CallRecord, isNew bool, err error) {
	if req.CallID == "" {
		return nil, rec, false, ErrNoCallID
	}
	if req.FromTag == "" {
		return nil, rec, false, ErrNoFromTag
	}
	expandWebRTC(req)
	if err := checkRequestPolicy(req); err != nil {
		return nil, rec, true, err
	}
	src, err := parseSDP(req.SDP)
	if err != nil {
		return nil, rec, true, err
	}
	if err := checkSourcePolicy(src); err != nil {
		return nil, rec, true, err
	}
	srcT, err := sdpTransport(src)
	if err != nil {
		return nil, rec, true, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	c := r.calls[req.CallID]
	var offerer, target *Leg
	if c == nil {
		isNew = true
		if c, err = r.newCallLocked(req, srcT, now); err != nil {
			return nil, rec, true, err
		}
		offerer, target = c.legs[0], c.legs[1]
		defer func() {
			if err != nil {
				// Read loops never take Relay.mu, so waiting for them
				// here cannot deadlock.
				for _, m := range r.discardNewCallLocked(c) {
					closeMedia(m, false)
				}
			}
		}()
	} else {
		if offerer, target, err = c.reofferLegsLocked(req, srcT); err != nil {
			return nil, rec, false, err
		}
		c.deleteAt = time.Time{} // a new offer revives a call waiting out its delete delay
		// m= lines a failed re-offer added are removed again, so both
		// legs keep the same number of medias.
		nOff, nTgt := len(offerer.medias), len(target.medias)
		defer func() {
			if err != nil {
				for _, x := range []struct {
					l *Leg
					n int
				}{{offerer, nOff}, {target, nTgt}} {
					for _, m := range x.l.medias[x.n:] {
						closeMedia(m, false)
					}
					x.l.medias = x.l.medias[:x.n]
				}
			}
		}()
	}
	if len(src.medias) < len(offerer.medias) {
		return nil, rec, isNew, fmt.Errorf("%w: offer has %d m= lines, the call already has %d (RFC 3264 §8.1: lines are disabled with port 0, never removed)",
			ErrBadSDP, len(src.medias), len(offerer.medias))
	}
	for i := len(offerer.medias); i < len(src.medias); i++ {
		for _, l := range []*Leg{offerer, target} {
			if _, err := r.addMediaLocked(l, i+1, src.medias[i].typ); err != nil {
				return nil, rec, isNew, err
			}
		}
	}
	if err := offerer.applyRemoteLocked(src, req); err != nil {
		return nil, rec, isNew, err
	}
	target.setICE(req.ICE)
	for _, m := range target.medias {
		// Checks may arrive as soon as the peer has the offer, before its
		// answer reaches srtpgw: answer them from now on.
		m.setICEActive(target.ice && target.secure())
	}
	for i, sm := range src.medias {
		m := target.medias[i]
		m.typ, m.codec = sm.typ, sm.codec
		m.disabled = sm.port == 0
		// Offer mux if asked, if the offerer muxes and the flags do not
		// demux, or if this party already multiplexes (keep it on re-offer).
		m.offerMux = m.mux || req.RTCPMux&(RTCPMuxOffer|RTCPMuxRequire) != 0 ||
			(sm.mux && req.RTCPMux&(RTCPMuxDemux|RTCPMuxReject) == 0)
		m.onlyMux = req.RTCPMux&RTCPMuxRequire != 0
	}
	out, err = target.render(src, renderOpts{
		offer:       true,
		replace:     req.Replace,
		noRTCPAttr:  req.Flags.NoRTCPAttribute,
		generateMid: req.Flags.GenerateMid,
	})
	if err != nil {
		return nil, rec, isNew, err
	}
	c.offerFrom = offerer.idx
	c.lastSignal = now
	if isNew {
		r.calls[c.id] = c
		r.totalCalls.Add(1)
		rec = c.recordLocked()
		c.log.Info("call offered", "from_tag", offerer.tag, "offerer", offerer.transport.String(), "answerer", target.transport.String())
	} else if c.answered {
		// A re-offer moves the offerer's addresses at once (hold/resume, a
		// new port): the published routes read the streams' remotes.
		c.log.Info("re-offer", "from_tag", offerer.tag)
	}
	return out, rec, isNew, nil
}

// newCallLocked creates a call and its two legs, checking admission.
func (r *Relay) newCallLocked(req *Request, srcT Transport, now time.Time) (*Call, error) {
	if r.closing {
		return nil, ErrShuttingDown
	}
	if err := r.admit(); err != nil {
		return nil, err
	}
	if r.cfg.MaxSessions > 0 && len(r.calls) >= r.cfg.MaxSessions {
		return nil, ErrSessionLimit
	}
	tgtT := req.Transport
	if tgtT == TransportUnknown {
		tgtT = srcT
	}
	if err := checkPair(srcT, tgtT); err != nil {
		return nil, err
	}
	fromIf, err := r.cfg.iface(req.FromInterface)
	if err != nil {
		return nil, err
	}
	toIf, err := r.cfg.iface(req.ToInterface)
	if err != nil {
		return nil, err
	}
	cert := r.cfg.Certs.Current()
	if cert == nil {
		return nil, fmt.Errorf("%w: no DTLS certificate", ErrUnavailable)
	}
	c := &Call{
		relay:      r,
		id:         req.CallID,
		uid:        newUID(),
		created:    now,
		lastSignal: now,
		cert:       cert,
		offerFrom:  -1,
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.log = callLogger(r.log, c)
	c.legs[0] = &Leg{call: c, idx: 0, tag: req.FromTag, label: req.FromLabel, iface: fromIf, pool: r.pools[fromIf.Name], transport: srcT, created: now}
	c.legs[1] = &Leg{call: c, idx: 1, label: req.ToLabel, viaBranch: req.ViaBranch, iface: toIf, pool: r.pools[toIf.Name], transport: tgtT, created: now}
	return c, nil
}

// reofferLegsLocked identifies offerer and target of a re-offer and checks
// that it keeps each party on its kind of leg.
func (c *Call) reofferLegsLocked(req *Request, srcT Transport) (offerer, target *Leg, err error) {
	offerer = c.legByTag(req.FromTag)
	if offerer == nil {
		return nil, nil, fmt.Errorf("%w: from-tag %q is not a party of this call", ErrUnknownCall, req.FromTag)
	}
	target = offerer.other()
	if srcT.DTLS() != offerer.transport.DTLS() {
		if offerer.secure() {
			return nil, nil, &PolicyError{Reason: fmt.Sprintf("the upstream party re-offered plain %s; the upstream leg stays DTLS-SRTP", srcT)}
		}
		return nil, nil, fmt.Errorf("%w: the phone party cannot switch to %s mid-call", ErrBadRequest, srcT)
	}
	if req.Transport != TransportUnknown && req.Transport.DTLS() != target.transport.DTLS() {
		if target.secure() {
			return nil, nil, &PolicyError{Reason: fmt.Sprintf("plain %s on the upstream leg: srtpgw encrypts every call that leaves the building", req.Transport)}
		}
		return nil, nil, fmt.Errorf("%w: the phone leg cannot switch to %s mid-call", ErrBadRequest, req.Transport)
	}
	offerer.transport = srcT
	if req.Transport != TransportUnknown {
		target.transport = req.Transport
	}
	if req.ViaBranch != "" && target.viaBranch == "" {
		target.viaBranch = req.ViaBranch
	}
	return offerer, target, nil
}

// applyRemoteLocked records where the party wants media (RFC 3264 §5: an
// SDP describes where its sender receives), and for a DTLS-SRTP party its
// fingerprints and a=setup.
func (l *Leg) applyRemoteLocked(src *remoteSDP, req *Request) error {
	for i, sm := range src.medias {
		if sm.port != 0 && sm.transport.DTLS() != l.transport.DTLS() {
			return &PolicyError{Reason: fmt.Sprintf("m= line %d is %s but this party's leg is %s", i+1, sm.transport, l.transport)}
		}
		if l.secure() {
			if err := checkSecureMedia(i, &sm); err != nil {
				return err
			}
		}
		if sm.port == 0 || (l.ice && sm.ice) || sm.addr.IsUnspecified() {
			continue
		}
		if err := l.checkAddress(partyAddr(&sm, req)); err != nil {
			return err
		}
		if sm.rtcp.IsValid() && sm.rtcp.Addr() != sm.addr {
			if err := l.checkAddress(sm.rtcp.Addr()); err != nil {
				return err
			}
		}
	}
	for i, sm := range src.medias {
		m := l.medias[i]
		m.typ, m.codec = sm.typ, sm.codec
		m.disabled = sm.port == 0
		if m.disabled {
			continue
		}
		m.hold = sm.hold()
		m.peerMux = sm.mux
		if l.secure() {
			m.fingerprints = sm.fingerprints
			m.setupRemote = sm.setup
		}
		m.peerICE = sm.ice
		if l.ice && sm.ice {
			// The peer's address is whatever its nominated candidate
			// pair says (RFC 8445 §8.1.1); the c= line of an ICE peer is
			// only a default, often 0.0.0.0 port 9 (RFC 8840 §4.1.1).
			m.hold = sm.direction == "sendonly" || sm.direction == "inactive"
			continue
		}
		if sm.addr.IsUnspecified() {
			continue // RFC 2543 hold: keep the last known address
		}
		addr := partyAddr(&sm, req)
		rtcp := sm.rtcp
		if rtcp.Addr() == sm.addr {
			rtcp = netip.AddrPortFrom(addr, rtcp.Port())
		}
		m.setRemotes(netip.AddrPortFrom(addr, uint16(sm.port)), rtcp)
	}
	return nil
}

// setICE applies the ng ICE key to the SDP srtpgw produces for this party:
// force turns ICE-lite on (credentials drawn once per call), remove turns
// it off, and default keeps what the call already does.
func (l *Leg) setICE(mode ICEMode) {
	switch mode {
	case ICEForce:
		if !l.ice {
			l.ice, l.iceCreds = true, newICECreds()
		}
	case ICERemove:
		l.ice = false
	}
}

// iceActive reports whether media m runs ICE: the leg does, the party is
// DTLS-SRTP, and the party's SDP has ICE too (a peer without ICE gets
// plain addressing, RFC 8445 §5.4).
func (m *Media) iceActive() bool {
	return m.leg.ice && m.leg.secure() && m.peerICE
}

// setICEActive installs or removes the ICE-lite state of m's streams.
func (m *Media) setICEActive(on bool) {
	for _, s := range m.streams() {
		switch {
		case on && s.ice.Load() == nil:
			s.ice.Store(newICEStream(m.leg.iceCreds))
		case !on && s.ice.Load() != nil:
			s.ice.Store(nil)
		}
	}
}

// partyAddr is where the party of sm wants media: media-address if given,
// received-from with SIP-source-address, else the SDP's c= (rtpengine's
// trust-address default).
func partyAddr(sm *remoteMedia, req *Request) netip.Addr {
	switch {
	case req.MediaAddress.IsValid():
		return req.MediaAddress.Unmap()
	case req.Flags.SIPSourceAddress && req.ReceivedFrom.IsValid():
		return req.ReceivedFrom.Unmap()
	}
	return sm.addr
}

// checkAddress refuses a media address outside the networks configured for
// this party's kind of leg (security requirement A8): plain RTP only within
// the phone networks, DTLS-SRTP only within the upstream networks.
func (l *Leg) checkAddress(a netip.Addr) error {
	cfg := &l.call.relay.cfg
	if l.secure() {
		if !allowed(cfg.UpstreamNetworks, a) {
			return &PolicyError{Reason: fmt.Sprintf("upstream media address %s is outside --upstream-networks", a)}
		}
		return nil
	}
	if !allowed(cfg.PhoneNetworks, a) {
		return &PolicyError{Reason: fmt.Sprintf("plain RTP to %s: the phone leg's media address is outside --phone-networks, and srtpgw never sends unencrypted audio there", a)}
	}
	return nil
}
