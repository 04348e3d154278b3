package ng

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

// query and delete replies (ng-protocol.md b.9) in rtpengine's shape and
// key order, limited to what Kamailio reads plus what helps an operator.
// rtpengine's replies of about 2 KB (5 KB with MOS data) exceed the MTU,
// get fragmented and lost, and leave zombie calls behind
// (sipwise/rtpengine#1856); srtpgw keeps the whole datagram under
// maxStatsReply by dropping optional detail, coarsest last.

// maxStatsReply bounds a whole query/delete reply datagram (cookie
// included): under a 1500-byte MTU with room for IPv6 and tunnel headers.
const maxStatsReply = 1400

// detail is how much of a CallInfo a reply shows. Each level drops more;
// Kamailio needs only `created`, `totals`, tags' `label` and streams'
// `SSRC`, which go last.
type detail int

const (
	detailFull      detail = iota
	detailNoFlags          // no flags, crypto suite, via-branch, endpoint family
	detailNoStats          // no per-stream stats (totals stay)
	detailNoAddress        // no local address/family, endpoint, last packet
	detailNoMedias         // tags keep tag, label, created
	detailNoTags           // created, last signal, SSRC, totals only
)

// callInfoEntries renders info at the finest detail whose encoded reply
// (with `result: ok` appended) fits budget bytes.
func callInfoEntries(info *relay.CallInfo, budget int, enc func(Value) []byte) []Entry {
	for d := detailFull; ; d++ {
		entries := callInfoAt(info, d)
		if d == detailNoTags {
			return entries
		}
		probe := append(entries[:len(entries):len(entries)], E("result", String(resultOK)))
		if len(enc(Dict(probe...))) <= budget {
			return entries
		}
	}
}

func callInfoAt(info *relay.CallInfo, d detail) []Entry {
	tags := []Entry{}
	if d < detailNoTags {
		seen := make(map[string]bool, len(info.Tags))
		for i := range info.Tags {
			t := &info.Tags[i]
			if seen[t.Tag] { // dictionary keys must be unique
				continue
			}
			seen[t.Tag] = true
			tags = append(tags, E(t.Tag, tagValue(t, d)))
		}
	}
	return []Entry{
		E("created", Int(unix(info.Created))),
		E("created_us", Int(int64(info.Created.Nanosecond()/1000))),
		E("last signal", Int(unix(info.LastSignal))),
		E("SSRC", Dict()),
		E("tags", Dict(tags...)),
		E("totals", Dict(E("RTP", countersValue(info.RTP)), E("RTCP", countersValue(info.RTCP)))),
	}
}

func tagValue(t *relay.TagInfo, d detail) Value {
	e := []Entry{E("tag", String(t.Tag))}
	if t.Label != "" {
		e = append(e, E("label", String(t.Label)))
	}
	e = append(e, E("created", Int(unix(t.Created))))
	if t.ViaBranch != "" && d < detailNoFlags {
		e = append(e, E("via-branch", String(t.ViaBranch)))
	}
	if d < detailNoMedias {
		medias := make([]Value, 0, len(t.Medias))
		for i := range t.Medias {
			medias = append(medias, mediaValue(&t.Medias[i], d))
		}
		e = append(e, E("medias", List(medias...)))
	}
	return Dict(e...)
}

func mediaValue(m *relay.MediaInfo, d detail) Value {
	streams := make([]Value, 0, len(m.Streams))
	for i := range m.Streams {
		streams = append(streams, streamValue(&m.Streams[i], d))
	}
	e := []Entry{
		E("index", Int(int64(m.Index))),
		E("type", String(m.Type)),
		E("protocol", String(m.Protocol)),
		E("streams", List(streams...)),
	}
	if d < detailNoFlags {
		e = append(e, E("flags", strList(m.Flags)))
	}
	return Dict(e...)
}

func streamValue(s *relay.StreamInfo, d detail) Value {
	e := []Entry{E("local port", Int(int64(s.Local.Port())))}
	if d < detailNoAddress {
		if a := s.Local.Addr(); a.IsValid() {
			e = append(e, E("local address", String(a.Unmap().String())), E("family", String(family(a))))
		}
		if s.Endpoint.Addr().IsValid() {
			e = append(e, E("endpoint", endpointValue(s.Endpoint, d)))
		}
		if !s.LastPacket.IsZero() {
			e = append(e, E("last packet", Int(unix(s.LastPacket))))
		}
	}
	if d < detailNoFlags {
		e = append(e, E("flags", strList(s.Flags)))
		if s.CryptoSuite != "" {
			e = append(e, E("crypto suite", String(s.CryptoSuite)))
		}
	}
	if s.SSRC != 0 {
		e = append(e, E("SSRC", Int(int64(s.SSRC))))
	}
	if d < detailNoStats {
		e = append(e, E("stats", countersValue(s.Stats)))
	}
	return Dict(e...)
}

func endpointValue(ap netip.AddrPort, d detail) Value {
	a := ap.Addr()
	e := make([]Entry, 0, 3)
	if d < detailNoFlags {
		e = append(e, E("family", String(family(a))))
	}
	e = append(e, E("address", String(a.Unmap().String())), E("port", Int(int64(ap.Port()))))
	return Dict(e...)
}

func countersValue(c relay.Counters) Value {
	return Dict(E("packets", counter(c.Packets)), E("bytes", counter(c.Bytes)), E("errors", counter(c.Errors)))
}

func family(a netip.Addr) string {
	if a.Unmap().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func strList(ss []string) Value {
	items := make([]Value, 0, len(ss))
	for _, s := range ss {
		items = append(items, String(s))
	}
	return List(items...)
}

// unix is rtpengine's timestamp form: whole seconds, 0 for "never".
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// uint encodes a counter; bencode integers are signed 64-bit.
func counter(n uint64) Value {
	if n > math.MaxInt64 {
		n = math.MaxInt64
	}
	return Int(int64(n))
}

// statisticsValue is the `statistics` dictionary: the subset of rtpengine's
// `list jsonstats` that srtpgw can fill (b.10), with rtpengine's key names
// and types as rtpengine 10.5 sends them (captured live): uptime and
// avgcallduration are strings ("%llu", "%ld.%06ld"), counters integers.
func statisticsValue(st relay.Statistics) Value {
	cur := Dict(
		E("sessionsown", Int(int64(st.CurrentSessions))),
		E("sessionsforeign", Int(0)),
		E("sessionstotal", Int(int64(st.CurrentSessions))),
		E("transcodedmedia", Int(0)),
	)
	avg := st.AverageCallDuration
	total := Dict(
		E("uptime", String(fmt.Sprintf("%d", int64(st.Uptime/time.Second)))),
		E("managedsessions", counter(st.TotalSessions)),
		E("rejectedsessions", counter(st.RejectedSessions)),
		E("timeoutsessions", counter(st.TimeoutSessions)),
		E("relayedpackets", counter(st.Packets)),
		E("relayedpacketerrors", counter(st.Errors)),
		E("relayedbytes", counter(st.Bytes)),
		E("avgcallduration", String(fmt.Sprintf("%d.%06d", int64(avg/time.Second), int64(avg%time.Second/time.Microsecond)))),
	)
	return Dict(E("currentstatistics", cur), E("totalstatistics", total))
}
