package relay

import (
	"net/netip"
	"time"
)

// This file is the control-plane contract between the ng server (relay/ng)
// and the relay. The ng package turns an ng dictionary into these structs
// (key spelling, bencode types); the relay interprets them (policy, SDP,
// ports). Keeping the interpretation here means the policy is enforced in
// exactly one place whatever front end drives the relay.

// Transport is the protocol field of an SDP m= line (RFC 8866 §5.14).
type Transport uint8

// Transports srtpgw recognises. Only the plain and DTLS ones are usable;
// the SDES ones are recognised so that they can be refused by name.
const (
	TransportUnknown   Transport = iota
	TransportRTPAVP              // RTP/AVP (RFC 3551)
	TransportRTPAVPF             // RTP/AVPF (RFC 4585)
	TransportRTPSAVP             // RTP/SAVP with SDES keys (RFC 4568) - refused
	TransportRTPSAVPF            // RTP/SAVPF with SDES keys - refused
	TransportDTLSSAVP            // UDP/TLS/RTP/SAVP (RFC 5764 §8)
	TransportDTLSSAVPF           // UDP/TLS/RTP/SAVPF (RFC 5764 §8)
)

var transportNames = [...]string{
	TransportUnknown:   "",
	TransportRTPAVP:    "RTP/AVP",
	TransportRTPAVPF:   "RTP/AVPF",
	TransportRTPSAVP:   "RTP/SAVP",
	TransportRTPSAVPF:  "RTP/SAVPF",
	TransportDTLSSAVP:  "UDP/TLS/RTP/SAVP",
	TransportDTLSSAVPF: "UDP/TLS/RTP/SAVPF",
}

// ParseTransport maps an SDP protocol string to a Transport. The match is
// case-sensitive, as SDP protocol identifiers are (RFC 8866 §5.14).
func ParseTransport(s string) (Transport, bool) {
	for i, n := range transportNames {
		if i != 0 && n == s {
			return Transport(i), true
		}
	}
	return TransportUnknown, false
}

func (t Transport) String() string {
	if int(t) < len(transportNames) {
		return transportNames[t]
	}
	return "unknown"
}

// DTLS reports whether the transport keys SRTP with DTLS (RFC 5764).
func (t Transport) DTLS() bool { return t == TransportDTLSSAVP || t == TransportDTLSSAVPF }

// Plain reports whether the transport carries unencrypted RTP.
func (t Transport) Plain() bool { return t == TransportRTPAVP || t == TransportRTPAVPF }

// SDES reports whether the transport is SRTP keyed in the SDP (RFC 4568).
func (t Transport) SDES() bool { return t == TransportRTPSAVP || t == TransportRTPSAVPF }

// Feedback reports whether the transport is an AVPF profile (RFC 4585).
func (t Transport) Feedback() bool {
	return t == TransportRTPAVPF || t == TransportRTPSAVPF || t == TransportDTLSSAVPF
}

// DTLSMode is the ng `DTLS` / `DTLS-reverse` key.
type DTLSMode uint8

// DTLS modes. DTLSDefault means the key was absent.
const (
	DTLSDefault DTLSMode = iota
	DTLSOff              // off, no, disable
	DTLSPassive          // we take the DTLS server role
	DTLSActive           // we take the DTLS client role
)

// ICEMode is the ng `ICE` key.
type ICEMode uint8

// ICE modes. ICEDefault means the key was absent.
const (
	ICEDefault ICEMode = iota
	ICERemove
	ICEForce
	ICEForceRelay
	ICEOptional
)

// RTCPMux is a set of ng `rtcp-mux` flags.
type RTCPMux uint8

// rtcp-mux flags (RFC 5761 negotiation knobs, as rtpengine names them).
const (
	RTCPMuxOffer   RTCPMux = 1 << iota // offer rtcp-mux to the answerer
	RTCPMuxRequire                     // require it (no separate RTCP port advertised)
	RTCPMuxDemux                       // accept mux from the peer but do not offer it onward
	RTCPMuxAccept                      // accept mux if the offerer asked for it
	RTCPMuxReject                      // reject mux
)

// Replace is a set of ng `replace` flags.
type Replace uint8

// replace flags.
const (
	ReplaceOrigin            Replace = 1 << iota // o= address
	ReplaceOriginFull                            // o= username/session id as well
	ReplaceSessionConnection                     // session-level c=
	ReplaceSessionName                           // s=
	ReplaceSDPVersion                            // o= version handling
	ReplaceZeroAddress                           // 0.0.0.0 c= lines
	ReplaceForceIncrementSDPVersion
)

// Flags holds the boolean ng `flags` srtpgw understands. Unknown flags are
// ignored by the ng layer, as rtpengine does.
type Flags struct {
	TrustAddress      bool // use the SDP address (rtpengine default)
	SIPSourceAddress  bool // use received-from instead of the SDP address
	StrictSource      bool // drop media from other sources once latched
	MediaHandover     bool // allow the source to move after latching (refused on the phone leg)
	Symmetric         bool
	Asymmetric        bool
	LoopProtect       bool
	PortLatching      bool
	NoPortLatching    bool
	GenerateMid       bool
	NoRTCPAttribute   bool
	FullRTCPAttribute bool
	OriginalSendrecv  bool
	Fragment          bool // trickle-ICE SDP fragment (issue: WebRTC)
	WebRTC            bool // alias: UDP/TLS/RTP/SAVPF, ICE=force, rtcp-mux offer+require, SDES off
	Reset             bool
	Fatal             bool // delete: unknown call is an error, not a warning
}

// Request is one parsed ng `offer` or `answer`.
//
// For an offer, SDP describes the offerer (FromTag) and the flags shape the
// SDP srtpgw produces for the answerer. For an answer, SDP describes the
// answerer (ToTag) and the flags shape the SDP produced for the offerer
// (ng-protocol.md b.5).
type Request struct {
	CallID    string
	FromTag   string
	ToTag     string
	ViaBranch string
	FromLabel string // `label` or `from-label`
	ToLabel   string // `to-label`
	SDP       []byte

	// Transport is the protocol of the SDP this message produces;
	// TransportUnknown keeps the protocol of the other side.
	Transport       Transport
	TransportAccept bool // transport-protocol: accept (answer only)

	DTLS                DTLSMode
	DTLSReverse         DTLSMode
	DTLSFingerprintHash string // DTLS-fingerprint, e.g. "sha-256"

	ICE     ICEMode
	RTCPMux RTCPMux
	SDES    []string // raw tokens; policy accepts only "off" and friends
	OSRTP   []string // raw tokens; any best-effort SRTP is refused upstream
	Replace Replace

	FromInterface string // direction[0] / from-interface
	ToInterface   string // direction[1] / to-interface

	ReceivedFrom  netip.Addr // received-from: the SIP source address
	MediaAddress  netip.Addr // media-address: overrides SDP and received-from
	AddressFamily string     // "IP4" or "IP6"; empty = keep

	Flags Flags

	// Client is the ng client that sent the request (for logs and audit).
	Client netip.AddrPort
}

// DeleteRequest is one parsed ng `delete`.
type DeleteRequest struct {
	CallID    string
	FromTag   string // may name either party (Kamailio sends whoever sent BYE)
	ToTag     string
	ViaBranch string
	// Delay overrides the configured delete-delay when HasDelay is set.
	Delay    time.Duration
	HasDelay bool
	Client   netip.AddrPort
}

// QueryRequest is one parsed ng `query`.
type QueryRequest struct {
	CallID  string
	FromTag string
	ToTag   string
}
