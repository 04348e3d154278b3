package relay

import (
	"net/netip"
	"time"
)

// EventSink receives call lifecycle and security events: the audit log, and
// anything else that must see every call. The relay calls it outside its
// lock, from control-plane and handshake goroutines, never per packet.
type EventSink interface {
	CallStarted(c CallRecord)
	DTLSEstablished(c CallRecord, d DTLSRecord)
	DTLSFailed(c CallRecord, d DTLSRecord, reason string)
	CallEnded(c CallRecord, e EndRecord)
	// Security reports an anomaly burst (rogue sources, auth failures,
	// replays) aggregated by the reaper, never one event per packet.
	Security(kind string, c CallRecord, detail string, count uint64)
}

// NopSink discards events.
type NopSink struct{}

func (NopSink) CallStarted(CallRecord)                      {}
func (NopSink) DTLSEstablished(CallRecord, DTLSRecord)      {}
func (NopSink) DTLSFailed(CallRecord, DTLSRecord, string)   {}
func (NopSink) CallEnded(CallRecord, EndRecord)             {}
func (NopSink) Security(string, CallRecord, string, uint64) {}

// CallRecord names a call and its parties (HIPAA call log: date, time,
// parties). It never holds SDP or key material.
type CallRecord struct {
	UID       string // unique per call instance, assigned by the relay
	CallID    string
	FromTag   string // offerer of the initial offer
	ToTag     string
	FromLabel string
	ToLabel   string
	// Phone is the plain leg's remote RTP address, Upstream the DTLS-SRTP
	// leg's; PhoneLocal and UpstreamLocal are srtpgw's sockets facing
	// them: RTP then RTCP, per m= line.
	Phone, Upstream           netip.AddrPort
	PhoneLocal, UpstreamLocal []netip.AddrPort
	Created                   time.Time
}

// DTLSRecord describes one DTLS-SRTP association.
type DTLSRecord struct {
	Component       int    // 1 = RTP (or RTP+RTCP muxed), 2 = RTCP
	Media           int    // 1-based m= index
	Role            string // "client" or "server"
	Profile         string
	CipherSuite     string
	PeerFingerprint string
	Duration        time.Duration
}

// EndReason says why a call ended.
type EndReason string

// End reasons. They are metric label values: keep the set small and fixed.
const (
	EndDelete        EndReason = "delete"
	EndTimeout       EndReason = "timeout"
	EndSilentTimeout EndReason = "silent_timeout"
	EndFinalTimeout  EndReason = "final_timeout"
	EndDTLSFailed    EndReason = "dtls_failed"
	EndShutdown      EndReason = "shutdown"
	EndKeyLimit      EndReason = "key_limit"
)

// EndReasons lists every end reason.
func EndReasons() []EndReason {
	return []EndReason{EndDelete, EndTimeout, EndSilentTimeout, EndFinalTimeout, EndDTLSFailed, EndShutdown, EndKeyLimit}
}

// Direction is the traffic of one direction of a call.
type Direction struct {
	Received  uint64 // packets accepted from the sender
	Bytes     uint64 // bytes accepted from the sender
	Forwarded uint64 // packets written toward the receiver
	FwdBytes  uint64
	Drops     map[string]uint64 // by DropReason name, non-zero only
}

// EndRecord is the final accounting of a call.
type EndRecord struct {
	Start, End      time.Time
	Reason          EndReason
	Answered        bool
	PhoneToUpstream Direction
	UpstreamToPhone Direction
}
