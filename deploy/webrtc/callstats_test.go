package webrtc

// callStats reads an ng query/delete reply (ng-protocol.md b.9): per leg
// (from-tag, to-tag) what arrived from that party, the crypto suite of its
// streams and the media flags, plus the totals Kamailio reads. "Both ways"
// means each party's leg counted packets *from* that party.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

type legStats struct {
	tag, protocol string
	packets       int64 // summed over the leg's streams (RTP and RTCP)
	bytes         int64
	errors        int64
	suites        []string // "crypto suite" of the streams, once each
	mediaFlags    []string
	endpoints     []string // where the relay saw the party's media come from
}

type callStats struct {
	rtpPackets, rtpBytes, rtpErrors int64 // totals.RTP
	rtcpPackets                     int64 // totals.RTCP
	legs                            map[string]legStats
}

func readCallStats(v interop.Value) callStats {
	cs := callStats{
		rtpPackets:  v.Path("totals", "RTP", "packets").Num,
		rtpBytes:    v.Path("totals", "RTP", "bytes").Num,
		rtpErrors:   v.Path("totals", "RTP", "errors").Num,
		rtcpPackets: v.Path("totals", "RTCP", "packets").Num,
		legs:        map[string]legStats{},
	}
	tags := v.Get("tags")
	for _, tag := range tags.Keys {
		t := tags.Get(tag)
		ls := legStats{tag: tag}
		for _, m := range t.Get("medias").List {
			if ls.protocol == "" {
				ls.protocol = string(m.Get("protocol").Str)
			}
			ls.mediaFlags = append(ls.mediaFlags, m.Get("flags").Strs()...)
			for _, s := range m.Get("streams").List {
				ls.packets += s.Path("stats", "packets").Num
				ls.bytes += s.Path("stats", "bytes").Num
				ls.errors += s.Path("stats", "errors").Num
				if cs := string(s.Get("crypto suite").Str); cs != "" && !slices.Contains(ls.suites, cs) {
					ls.suites = append(ls.suites, cs)
				}
				if ep := s.Get("endpoint"); ep.Kind == 'd' && ep.Get("port").Num != 0 {
					e := fmt.Sprintf("%s:%d", ep.Get("address").Str, ep.Get("port").Num)
					if !slices.Contains(ls.endpoints, e) {
						ls.endpoints = append(ls.endpoints, e)
					}
				}
			}
		}
		cs.legs[tag] = ls
	}
	return cs
}

func (cs callStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "totals RTP %d packets %d bytes %d errors, RTCP %d packets", cs.rtpPackets, cs.rtpBytes, cs.rtpErrors, cs.rtcpPackets)
	tags := make([]string, 0, len(cs.legs))
	for t := range cs.legs {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for _, t := range tags {
		l := cs.legs[t]
		fmt.Fprintf(&b, "; %s %s: %d packets %d bytes %d errors from %v, suites %v, flags %v",
			t, l.protocol, l.packets, l.bytes, l.errors, l.endpoints, l.suites, l.mediaFlags)
	}
	return b.String()
}

func TestReadCallStats(t *testing.T) {
	// The b.9 shape, trimmed: the phone leg sent 5 packets, the upstream
	// leg 7 with a crypto suite on its muxed stream.
	reply := interop.NewDict(
		"created", 1795772633,
		"tags", interop.NewDict(
			"ft-phone", interop.NewDict("tag", "ft-phone", "medias", []any{interop.NewDict(
				"protocol", "RTP/AVP",
				"streams", []any{
					interop.NewDict("endpoint", interop.NewDict("address", "127.0.0.10", "port", 20000), "stats", interop.NewDict("packets", 5, "bytes", 860, "errors", 0)),
					interop.NewDict("stats", interop.NewDict("packets", 1, "bytes", 8, "errors", 0)),
				},
				"flags", []string{"initialized", "send", "recv"},
			)}),
			"tt-peer", interop.NewDict("tag", "tt-peer", "medias", []any{interop.NewDict(
				"protocol", "UDP/TLS/RTP/SAVPF",
				"streams", []any{
					interop.NewDict("crypto suite", "AES_CM_128_HMAC_SHA1_80", "stats", interop.NewDict("packets", 7, "bytes", 1400, "errors", 2)),
					interop.NewDict("crypto suite", "AES_CM_128_HMAC_SHA1_80", "endpoint", interop.NewDict("port", 0)),
				},
				"flags", []string{"rtcp-mux", "DTLS-SRTP", "ICE"},
			)}),
		),
		"totals", interop.NewDict("RTP", interop.NewDict("packets", 12, "bytes", 2260, "errors", 2), "RTCP", interop.NewDict("packets", 1)),
		"result", "ok",
	)
	b, err := interop.Encode(reply)
	if err != nil {
		t.Fatal(err)
	}
	v, err := interop.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	cs := readCallStats(v)
	if cs.rtpPackets != 12 || cs.rtpBytes != 2260 || cs.rtpErrors != 2 || cs.rtcpPackets != 1 {
		t.Errorf("totals %+v", cs)
	}
	phone, peer := cs.legs["ft-phone"], cs.legs["tt-peer"]
	if phone.packets != 6 || phone.protocol != "RTP/AVP" || len(phone.suites) != 0 || !slices.Equal(phone.endpoints, []string{"127.0.0.10:20000"}) {
		t.Errorf("phone leg %+v", phone)
	}
	if peer.packets != 7 || peer.errors != 2 || !slices.Equal(peer.suites, []string{"AES_CM_128_HMAC_SHA1_80"}) || len(peer.endpoints) != 0 {
		t.Errorf("peer leg %+v", peer)
	}
	if !slices.Contains(peer.mediaFlags, "ICE") {
		t.Errorf("peer flags %v", peer.mediaFlags)
	}
	if s := cs.String(); !strings.Contains(s, "tt-peer UDP/TLS/RTP/SAVPF: 7 packets") {
		t.Errorf("String() = %q", s)
	}
}
