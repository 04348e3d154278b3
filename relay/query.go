package relay

import (
	"time"

	"github.com/srtpgw/srtpgw/crypto"
)

// infoLocked snapshots the call in the shape ng query/delete report
// (ng-protocol.md b.9). Relay.mu must be held.
func (c *Call) infoLocked() *CallInfo {
	info := &CallInfo{CallID: c.id, Created: c.created, LastSignal: c.lastSignal}
	for _, l := range c.legs {
		tag := TagInfo{Tag: l.tag, Label: l.label, ViaBranch: l.viaBranch, Created: l.created}
		for _, m := range l.medias {
			mi := MediaInfo{Index: m.index, Type: m.typ, Protocol: l.transport.String(), Flags: m.flags()}
			for _, s := range m.streams() {
				if s.component == 2 && m.mux {
					continue
				}
				si, c := s.info(m)
				info.RTP.Packets += c.InPackets - c.RTCPIn
				info.RTP.Bytes += c.InBytes - c.RTCPBytes
				info.RTCP.Packets += c.RTCPIn
				info.RTCP.Bytes += c.RTCPBytes
				if s.component == 1 {
					info.RTP.Errors += c.DropTotal()
				} else {
					info.RTCP.Errors += c.DropTotal()
				}
				mi.Streams = append(mi.Streams, si)
			}
			tag.Medias = append(tag.Medias, mi)
		}
		info.Tags = append(info.Tags, tag)
	}
	return info
}

func (m *Media) flags() []string {
	f := []string{"initialized"}
	if !m.disabled && !m.hold {
		f = append(f, "send", "recv")
	}
	if m.mux {
		f = append(f, "rtcp-mux")
	}
	if m.iceActive() {
		f = append(f, "ICE", "ICE-lite") // srtpgw is the lite, controlled side (RFC 8445 §6.1.1)
	}
	if m.leg.secure() {
		f = append(f, "DTLS-SRTP")
		if m.role == crypto.RoleClient {
			f = append(f, "DTLS role active")
		}
	}
	return f
}

// info snapshots one stream. Stats are what arrived from the party on this
// socket (packets, bytes) and what was dropped (errors), as rtpengine counts.
func (s *Stream) info(m *Media) (StreamInfo, Counts) {
	c := s.stats.snapshot()
	si := StreamInfo{
		Local:      s.local,
		Advertised: s.advertised,
		Endpoint:   s.Remote(),
		RTP:        s.component == 1,
		RTCP:       s.component == 2 || m.mux,
		SSRC:       s.stats.ssrc.Load(),
		Stats:      Counters{Packets: c.InPackets, Bytes: c.InBytes, Errors: c.DropTotal()},
		Drops:      c.DropMap(),
	}
	if t := s.stats.lastRx.Load(); t != 0 {
		si.LastPacket = time.Unix(0, t)
	}
	if sess := s.session.Load(); sess != nil {
		si.CryptoSuite = sess.Profile().String()
	}
	if si.RTP {
		si.Flags = append(si.Flags, "RTP")
	}
	if si.RTCP {
		si.Flags = append(si.Flags, "RTCP")
	}
	if si.Endpoint.IsValid() {
		si.Flags = append(si.Flags, "filled")
	}
	if c.InPackets > 0 {
		si.Flags = append(si.Flags, "confirmed")
	}
	return si, c
}
