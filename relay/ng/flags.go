package ng

import (
	"strings"

	"github.com/srtpgw/srtpgw/relay"
)

// rtpengine spells many keys, flags and values several ways: "SIP source
// address", "SIP-source-address", "sip-source-address" (daemon/call_flags.c
// lists each variant by hand). srtpgw folds them instead: ASCII lower case,
// with '-' and '_' read as a space. That accepts every spelling rtpengine
// accepts, plus a few mixed-case ones it would warn about and ignore.

// fold returns the canonical spelling of an ng key, flag or value. It maps
// byte for byte (ASCII only), so an index into the folded string is an
// index into the original too, which flagAlias relies on.
func fold(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '-' || c == '_':
			b[i] = ' '
		}
	}
	return string(b)
}

// boolFlags are the entries of the `flags` list that map to one
// relay.Flags field. Flags srtpgw does not model (codec, recording,
// transcoding flags...) are ignored, as rtpengine ignores unknown flags.
var boolFlags = map[string]func(*relay.Flags){
	"strict source":       func(f *relay.Flags) { f.StrictSource = true },
	"media handover":      func(f *relay.Flags) { f.MediaHandover = true },
	"symmetric":           func(f *relay.Flags) { f.Symmetric = true },
	"asymmetric":          func(f *relay.Flags) { f.Asymmetric = true },
	"loop protect":        func(f *relay.Flags) { f.LoopProtect = true },
	"port latching":       func(f *relay.Flags) { f.PortLatching = true },
	"no port latching":    func(f *relay.Flags) { f.NoPortLatching = true },
	"generate mid":        func(f *relay.Flags) { f.GenerateMid = true },
	"no rtcp attribute":   func(f *relay.Flags) { f.NoRTCPAttribute = true },
	"full rtcp attribute": func(f *relay.Flags) { f.FullRTCPAttribute = true },
	"original sendrecv":   func(f *relay.Flags) { f.OriginalSendrecv = true },
	"fragment":            func(f *relay.Flags) { f.Fragment = true },
	"reset":               func(f *relay.Flags) { f.Reset = true },
	"fatal":               func(f *relay.Flags) { f.Fatal = true },
	// trust-address and SIP-source-address are opposites in rtpengine
	// (one flag variable); the later one wins.
	"trust address": func(f *relay.Flags) {
		f.TrustAddress, f.SIPSourceAddress = true, false
	},
	"sip source address": func(f *relay.Flags) {
		f.SIPSourceAddress, f.TrustAddress = true, false
	},
}

// applyFlag applies one entry of the `flags` list.
func applyFlag(r *relay.Request, raw string) {
	t := strings.TrimSpace(raw)
	f := fold(t)
	if set, ok := boolFlags[f]; ok {
		set(&r.Flags)
		return
	}
	if f == "webrtc" {
		applyWebRTC(r)
		return
	}
	// rtpengine also accepts the values of some list keys as prefixed
	// flags ("rtcp-mux-require", "SDES-off", "replace-origin").
	for _, a := range flagAliases {
		if strings.HasPrefix(f, a.prefix) && len(f) > len(a.prefix) {
			a.apply(r, t[len(a.prefix):])
			return
		}
	}
}

var flagAliases = []struct {
	prefix string // folded
	apply  func(r *relay.Request, rest string)
}{
	{"rtcp mux ", func(r *relay.Request, rest string) { applyRTCPMux(r, rest) }},
	{"replace ", func(r *relay.Request, rest string) { applyReplace(r, rest) }},
	{"sdes ", func(r *relay.Request, rest string) { r.SDES = append(r.SDES, rest) }},
	{"osrtp ", func(r *relay.Request, rest string) { r.OSRTP = append(r.OSRTP, rest) }},
}

// applyWebRTC expands the `WebRTC` flag the way rtpengine does
// (ng_flags_webrtc in daemon/call_flags.h): DTLS-SRTP with feedback, ICE
// forced, rtcp-mux offered and required, no a=rtcp line, no SDES, a=mid
// generated. Trickle ICE, which it also sets, has no srtpgw field.
func applyWebRTC(r *relay.Request) {
	r.Flags.WebRTC = true
	r.Transport = relay.TransportDTLSSAVPF
	r.ICE = relay.ICEForce
	r.RTCPMux |= relay.RTCPMuxOffer | relay.RTCPMuxRequire
	r.Flags.NoRTCPAttribute = true
	r.Flags.GenerateMid = true
	r.SDES = append(r.SDES, "off")
}

// applyRTCPMux applies one rtcp-mux token. "require" implies "offer", as
// in rtpengine (call_ng_flags_rtcp_mux). Unknown tokens are ignored.
func applyRTCPMux(r *relay.Request, tok string) {
	switch fold(strings.TrimSpace(tok)) {
	case "offer":
		r.RTCPMux |= relay.RTCPMuxOffer
	case "require":
		r.RTCPMux |= relay.RTCPMuxOffer | relay.RTCPMuxRequire
	case "demux":
		r.RTCPMux |= relay.RTCPMuxDemux
	case "accept":
		r.RTCPMux |= relay.RTCPMuxAccept
	case "reject":
		r.RTCPMux |= relay.RTCPMuxReject
	}
}

var replaceTokens = map[string]relay.Replace{
	"origin":                  relay.ReplaceOrigin,
	"origin full":             relay.ReplaceOriginFull,
	"session connection":      relay.ReplaceSessionConnection,
	"session name":            relay.ReplaceSessionName,
	"sdp version":             relay.ReplaceSDPVersion,
	"zero address":            relay.ReplaceZeroAddress,
	"force increment sdp ver": relay.ReplaceForceIncrementSDPVersion,
}

// applyReplace applies one `replace` token; unknown ones (e.g. "username",
// which srtpgw does not model) are ignored.
func applyReplace(r *relay.Request, tok string) {
	r.Replace |= replaceTokens[fold(strings.TrimSpace(tok))]
}

// parseDTLSMode maps a `DTLS` / `DTLS-reverse` value. Unlike rtpengine,
// which logs and ignores an unknown value, srtpgw refuses it: the value
// decides who keys the upstream leg, so a typo must not pass silently.
func parseDTLSMode(tok string) (relay.DTLSMode, bool) {
	switch fold(strings.TrimSpace(tok)) {
	case "off", "no", "disable", "disabled":
		return relay.DTLSOff, true
	case "passive":
		return relay.DTLSPassive, true
	case "active":
		return relay.DTLSActive, true
	}
	return relay.DTLSDefault, false
}

// parseICE maps an `ICE` token. ok is false for tokens srtpgw does not
// model (lite-*, trickle, ice2 and unknown ones), which are ignored.
func parseICE(tok string) (relay.ICEMode, bool) {
	switch fold(strings.TrimSpace(tok)) {
	case "remove":
		return relay.ICERemove, true
	case "force":
		return relay.ICEForce, true
	case "force relay":
		return relay.ICEForceRelay, true
	case "optional":
		return relay.ICEOptional, true
	case "default":
		return relay.ICEDefault, true
	}
	return relay.ICEDefault, false
}

// fingerprintHashes are the `DTLS-fingerprint` values rtpengine accepts
// (ng_control_protocol.md), normalised to the RFC 8122 §5 hash names.
// Refusing sha-1 is the relay's policy decision, not the parser's.
var fingerprintHashes = map[string]string{
	"sha 1": "sha-1", "sha 224": "sha-224", "sha 256": "sha-256",
	"sha 384": "sha-384", "sha 512": "sha-512",
}
