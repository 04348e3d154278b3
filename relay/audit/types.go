package audit

import (
	"net/netip"
	"time"
)

// The types in this file are everything a caller can put into the log.
// They are deliberately closed: names, addresses, counters and durations
// only. There is no field for SDP, a=crypto lines, keys, salts or payload,
// and no free-form map, so key material cannot reach the log through this
// API by accident (DESIGN.md §6, security-requirements L2/A10). Free-text
// fields (reasons, labels) are length-bounded and screened for SDES key
// syntax before they are written (see sanitize in encode.go).

// Leg names one side of the relay.
type Leg string

// Legs.
const (
	LegPhone    Leg = "phone"    // plain RTP towards the desk phone
	LegUpstream Leg = "upstream" // DTLS-SRTP towards the PBX/SBC/browser
	LegControl  Leg = "control"  // the ng control plane
)

// Role is our DTLS role on a leg (RFC 5763 §5: a=setup decides it).
type Role string

// DTLS roles.
const (
	RoleClient Role = "client" // we sent the ClientHello (a=setup:active)
	RoleServer Role = "server" // the peer did (a=setup:passive)
)

// SecurityKind classifies a security record. The constants are the kinds
// the relay emits today; new kinds may be added, and must match
// [a-z0-9_]{1,64} or they are written as "invalid".
type SecurityKind string

// Security record kinds.
const (
	RogueSourceBurst     SecurityKind = "rogue_source_burst"     // RTP Bleed / injection attempts (A1, A2)
	AuthFailureBurst     SecurityKind = "auth_failure_burst"     // SRTP/SRTCP auth failures (RFC 3711 §3.3)
	ReplayBurst          SecurityKind = "replay_burst"           // replayed packets (RFC 3711 §3.3.2, A3)
	PolicyRefused        SecurityKind = "policy_refused"         // offer/answer refused by crypto policy (A7, T4)
	ControlClientRefused SecurityKind = "control_client_refused" // ng request from outside the allowlist (C1)
	DTLSFlood            SecurityKind = "dtls_flood"             // ClientHello flood / rate limit hit (A4)
	FingerprintMismatch  SecurityKind = "fingerprint_mismatch"   // peer cert != SDP fingerprint (A6)
)

// Call identifies the parties of one call. Pass the same value (same UID)
// to every record of a call. With a redaction key configured, CallID,
// FromTag and ToTag are written as keyed hashes (see Redact).
type Call struct {
	// UID is the relay's own unique id for the call. Required: crash
	// recovery and the open-call sets in checkpoints are keyed on it.
	UID       string
	CallID    string // SIP Call-ID
	FromTag   string // SIP From tag (the offerer)
	ToTag     string // SIP To tag (the answerer); empty until the answer
	FromLabel string // ng label / from-label
	ToLabel   string // ng to-label

	Phone         netip.AddrPort   // the phone's media address (signalled or latched)
	PhoneLocal    []netip.AddrPort // our sockets facing the phone: RTP, then RTCP if not muxed, per m= line
	Upstream      netip.AddrPort   // the upstream peer's media address
	UpstreamLocal []netip.AddrPort // our sockets facing upstream
}

// DTLSInfo describes one completed DTLS-SRTP handshake (RFC 5764 §4).
// A call without rtcp-mux may have one per component.
type DTLSInfo struct {
	Leg       Leg
	Component int  // 1 = RTP, 2 = RTCP (RFC 5764 §4.1 keys each component)
	Role      Role // our role
	// Profile is the negotiated SRTP protection profile name, e.g.
	// "SRTP_AEAD_AES_128_GCM" (RFC 7714 §14.2). Only [A-Za-z0-9_-] is accepted.
	Profile string
	// CipherSuite is the DTLS cipher suite name, e.g.
	// "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256". Only [A-Za-z0-9_-] is accepted.
	CipherSuite string
	// PeerFingerprint is the verified peer certificate fingerprint in SDP
	// form (RFC 8122 §5), e.g. "sha-256 AB:CD:...". A hash of the public
	// certificate, not a secret.
	PeerFingerprint string
	Handshake       time.Duration // first flight to keys exported
}

// Direction holds one direction's media totals for a call.
type Direction struct {
	Packets uint64            // forwarded
	Bytes   uint64            // forwarded, payload + RTP header as sent
	Drops   map[string]uint64 // dropped packets by reason ("auth", "replay", "no_keys", ...)
}

// CallEnd describes how a call ended.
type CallEnd struct {
	Start  time.Time
	End    time.Time
	Reason string // end_reason: "delete", "timeout", "silent_timeout", "final_timeout", "shutdown", ...

	PhoneToUpstream Direction // phone -> encrypt -> upstream
	UpstreamToPhone Direction // upstream -> decrypt -> phone
}

// EndReasonGatewayRestart is the end_reason Open writes for calls that were
// still open when the previous process stopped (crash recovery, L1).
const EndReasonGatewayRestart = "gateway_restart"

// SecurityDetail is the typed body of a security record.
type SecurityDetail struct {
	Leg    Leg
	Source netip.AddrPort // offending source, if known
	Count  uint64         // events in Window
	Window time.Duration
	Reason string // short operator text, e.g. "sha-1 fingerprint offered"
}
