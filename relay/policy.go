package relay

import (
	"fmt"
	"strings"
)

// The crypto policy of the control plane (DESIGN §4, security requirements
// A7, T4): every call has exactly one plain leg (the phone, on the LAN) and
// one DTLS-SRTP leg (upstream). Anything that would put plaintext, SDES keys
// or best-effort SRTP on the upstream leg is refused with a reason, never
// silently downgraded. There is no setting that relaxes this.

// expandWebRTC applies rtpengine's WebRTC flag alias (ng-protocol.md b.6).
func expandWebRTC(req *Request) {
	if !req.Flags.WebRTC {
		return
	}
	if req.Transport == TransportUnknown {
		req.Transport = TransportDTLSSAVPF
	}
	if req.ICE == ICEDefault {
		req.ICE = ICEForce
	}
	req.RTCPMux |= RTCPMuxOffer | RTCPMuxRequire
	req.Flags.GenerateMid = true
	if len(req.SDES) == 0 {
		req.SDES = []string{"off"}
	}
}

// checkRequestPolicy refuses flags that ask for weaker protection.
func checkRequestPolicy(req *Request) error {
	if req.Transport.SDES() {
		return &PolicyError{Reason: fmt.Sprintf("transport-protocol %s uses SDES keys in signalling (RFC 4568); srtpgw only keys SRTP with DTLS (use UDP/TLS/RTP/SAVP or UDP/TLS/RTP/SAVPF)", req.Transport)}
	}
	for _, tok := range req.SDES {
		t := strings.ToLower(tok)
		switch {
		case t == "off" || t == "no" || t == "disable" || t == "nonew" || strings.HasPrefix(t, "no-"):
		default:
			return &PolicyError{Reason: fmt.Sprintf("SDES=%s: SDES is disabled by policy, only SDES=off is accepted", tok)}
		}
	}
	if len(req.OSRTP) > 0 {
		return &PolicyError{Reason: fmt.Sprintf("OSRTP=%s: opportunistic (best-effort) SRTP is disabled by policy; the upstream leg is always DTLS-SRTP", req.OSRTP[0])}
	}
	if req.ICE == ICEForceRelay {
		return &PolicyError{Reason: "ICE=force-relay: srtpgw has no TURN relay candidates"}
	}
	if req.DTLS == DTLSOff && req.Transport.DTLS() {
		return &PolicyError{Reason: "DTLS=off with a UDP/TLS transport: DTLS is the only key exchange srtpgw allows"}
	}
	return nil
}

// sdpTransport returns the transport of the party's enabled m= lines, which
// must all agree: srtpgw anchors a party on one kind of leg.
func sdpTransport(src *remoteSDP) (Transport, error) {
	t := TransportUnknown
	for i, m := range src.medias {
		if m.port == 0 {
			continue
		}
		if t != TransportUnknown && m.transport.DTLS() != t.DTLS() {
			return 0, fmt.Errorf("%w: m= line %d mixes %s with %s", ErrBadSDP, i+1, m.transport, t)
		}
		if t == TransportUnknown {
			t = m.transport
		}
	}
	if t == TransportUnknown { // every stream disabled: take the first line's
		t = src.medias[0].transport
	}
	return t, nil
}

// checkSourcePolicy refuses an SDP that itself uses SDES keying.
func checkSourcePolicy(src *remoteSDP) error {
	for i, m := range src.medias {
		if m.port != 0 && m.transport.SDES() {
			return &PolicyError{Reason: fmt.Sprintf("m= line %d uses %s (SDES keys in signalling); srtpgw only bridges RTP/AVP to DTLS-SRTP", i+1, m.transport)}
		}
	}
	return nil
}

// checkPair refuses a call that would not have exactly one DTLS-SRTP leg.
func checkPair(offerer, answerer Transport) error {
	switch {
	case offerer.Plain() && answerer.Plain():
		return &PolicyError{Reason: fmt.Sprintf("plain %s on the upstream leg: srtpgw encrypts every call that leaves the building; ask for transport-protocol UDP/TLS/RTP/SAVP(F) toward the upstream", answerer)}
	case offerer.DTLS() && answerer.DTLS():
		return &PolicyError{Reason: "both legs are DTLS-SRTP: srtpgw bridges one plain RTP leg (the phone) to one DTLS-SRTP leg (upstream)"}
	case !offerer.Plain() && !offerer.DTLS(), !answerer.Plain() && !answerer.DTLS():
		return &PolicyError{Reason: fmt.Sprintf("transport %s/%s is not allowed", offerer, answerer)}
	}
	return nil
}

// checkSecureMedia refuses a DTLS-SRTP party without an acceptable
// fingerprint (RFC 8122: sha-256/384/512 only).
func checkSecureMedia(i int, m *remoteMedia) error {
	if m.port == 0 || len(m.fingerprints) > 0 {
		return nil
	}
	if m.weak != "" {
		return &PolicyError{Reason: fmt.Sprintf("m= line %d: fingerprint hash %s is not allowed; srtpgw accepts sha-256, sha-384 and sha-512 (RFC 8122)", i+1, m.weak)}
	}
	if m.badFP {
		return fmt.Errorf("%w: m= line %d: malformed a=fingerprint", ErrBadSDP, i+1)
	}
	return &PolicyError{Reason: fmt.Sprintf("m= line %d: DTLS-SRTP without a=fingerprint cannot be authenticated", i+1)}
}
