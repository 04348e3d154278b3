package relay

import (
	"net/netip"
	"time"
)

// Counters are packet/byte/error totals in the shape ng `query` reports
// them (ng-protocol.md b.9: Kamailio reads totals.RTP/RTCP for $rtpstat).
type Counters struct {
	Packets uint64
	Bytes   uint64
	Errors  uint64 // packets dropped on this stream, any reason
}

// StreamInfo is a snapshot of one stream (one component of one media).
type StreamInfo struct {
	Local       netip.AddrPort // bound socket
	Advertised  netip.AddrPort // what the SDP advertises (may differ, NAT 1:1)
	Endpoint    netip.AddrPort // current remote (signalled or latched)
	RTCP        bool           // carries RTCP (true for a muxed stream too)
	RTP         bool           // carries RTP
	LastPacket  time.Time      // zero if none yet
	SSRC        uint32         // last SSRC seen, 0 if none
	Stats       Counters
	Drops       map[string]uint64 // by drop reason, only non-zero entries
	CryptoSuite string            // SRTP profile once keys exist, e.g. "AEAD_AES_128_GCM"
	Flags       []string          // rtpengine vocabulary: RTP, RTCP, filled, confirmed, ...
}

// MediaInfo is a snapshot of one m= line of one party.
type MediaInfo struct {
	Index    int    // 1-based, as rtpengine numbers them
	Type     string // "audio", "video", ...
	Protocol string // transport protocol of this party's SDP
	Flags    []string
	Streams  []StreamInfo
}

// TagInfo is a snapshot of one party (one SIP tag) of a call.
type TagInfo struct {
	Tag       string
	Label     string
	ViaBranch string
	Created   time.Time
	Medias    []MediaInfo
}

// CallInfo is the answer to ng `query` and `delete` (ng-protocol.md b.9).
type CallInfo struct {
	CallID     string
	Created    time.Time
	LastSignal time.Time
	Tags       []TagInfo // offerer first
	RTP        Counters  // totals over all RTP streams
	RTCP       Counters  // totals over all RTCP traffic
}

// Statistics is the answer to ng `statistics` (a subset of rtpengine's).
type Statistics struct {
	Uptime              time.Duration
	CurrentSessions     int
	TotalSessions       uint64 // calls ever created
	TimeoutSessions     uint64 // calls ended by a media timeout
	RejectedSessions    uint64 // offers refused (policy, limits, ports)
	AverageCallDuration time.Duration
	PortsFree           int
	PortsTotal          int
	Packets             uint64 // relayed, all calls, both directions
	Bytes               uint64
	Errors              uint64 // dropped, all calls
}
