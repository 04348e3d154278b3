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

func readCallStats(v bvalue) callStats {
	cs := callStats{
		rtpPackets:  v.path("totals", "RTP", "packets").num,
		rtpBytes:    v.path("totals", "RTP", "bytes").num,
		rtpErrors:   v.path("totals", "RTP", "errors").num,
		rtcpPackets: v.path("totals", "RTCP", "packets").num,
		legs:        map[string]legStats{},
	}
	tags := v.get("tags")
	for _, tag := range tags.keys {
		t := tags.get(tag)
		ls := legStats{tag: tag}
		for _, m := range t.get("medias").list {
			if ls.protocol == "" {
				ls.protocol = string(m.get("protocol").str)
			}
			ls.mediaFlags = append(ls.mediaFlags, m.get("flags").strs()...)
			for _, s := range m.get("streams").list {
				ls.packets += s.path("stats", "packets").num
				ls.bytes += s.path("stats", "bytes").num
				ls.errors += s.path("stats", "errors").num
				if cs := string(s.get("crypto suite").str); cs != "" && !slices.Contains(ls.suites, cs) {
					ls.suites = append(ls.suites, cs)
				}
				if ep := s.get("endpoint"); ep.kind == 'd' && ep.get("port").num != 0 {
					e := fmt.Sprintf("%s:%d", ep.get("address").str, ep.get("port").num)
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
	reply := dict{
		{"created", 1795772633},
		{"tags", dict{
			{"ft-phone", dict{{"tag", "ft-phone"}, {"medias", []any{dict{
				{"protocol", "RTP/AVP"},
				{"streams", []any{
					dict{{"endpoint", dict{{"address", "127.0.0.10"}, {"port", 20000}}}, {"stats", dict{{"packets", 5}, {"bytes", 860}, {"errors", 0}}}},
					dict{{"stats", dict{{"packets", 1}, {"bytes", 8}, {"errors", 0}}}},
				}},
				{"flags", []string{"initialized", "send", "recv"}},
			}}}}},
			{"tt-peer", dict{{"tag", "tt-peer"}, {"medias", []any{dict{
				{"protocol", "UDP/TLS/RTP/SAVPF"},
				{"streams", []any{
					dict{{"crypto suite", "AES_CM_128_HMAC_SHA1_80"}, {"stats", dict{{"packets", 7}, {"bytes", 1400}, {"errors", 2}}}},
					dict{{"crypto suite", "AES_CM_128_HMAC_SHA1_80"}, {"endpoint", dict{{"port", 0}}}},
				}},
				{"flags", []string{"rtcp-mux", "DTLS-SRTP", "ICE"}},
			}}}}},
		}},
		{"totals", dict{{"RTP", dict{{"packets", 12}, {"bytes", 2260}, {"errors", 2}}}, {"RTCP", dict{{"packets", 1}}}}},
		{"result", "ok"},
	}
	b, err := bencode(reply)
	if err != nil {
		t.Fatal(err)
	}
	v, err := bdecode(b)
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
