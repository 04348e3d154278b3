package relay

import "sync/atomic"

// upstreamPlaintext counts plain packets that reached the egress toward a
// DTLS-SRTP leg without being encrypted (and were dropped there). It is
// process-wide and must stay 0; metrics export it so an alert can prove it.
var upstreamPlaintext atomic.Uint64

// Traffic is packet and byte counts by direction and kind.
type Traffic struct {
	Packets, Bytes uint64
}

// Snapshot is what the metrics collector reads at scrape time: totals over
// ended calls plus the live streams, read from atomics (DESIGN §7: no
// Prometheus call on the packet path).
type Snapshot struct {
	ActiveCalls  int
	CallsStarted uint64
	CallsEnded   map[EndReason]uint64
	Rejected     uint64
	// Relayed traffic (written to the receiving party) by direction
	// ("phone_to_upstream", "upstream_to_phone") and kind ("rtp", "rtcp").
	Traffic map[[2]string]Traffic
	Drops   map[DropReason]uint64
	// Handshakes counts DTLS handshakes by result; Buckets histogram the
	// successful ones over HandshakeBuckets.
	Handshakes        HandshakeSnapshot
	PortsFree         int
	PortsQuarantined  int
	PortsTotal        int
	UpstreamPlaintext uint64
}

// Directions and kinds used in Snapshot.Traffic.
const (
	DirPhoneToUpstream = "phone_to_upstream"
	DirUpstreamToPhone = "upstream_to_phone"
)

// Snapshot gathers the relay's counters.
func (r *Relay) Snapshot() Snapshot {
	s := Snapshot{
		CallsStarted:      r.totalCalls.Load(),
		CallsEnded:        map[EndReason]uint64{},
		Rejected:          r.rejected.Load(),
		Traffic:           map[[2]string]Traffic{},
		Drops:             map[DropReason]uint64{},
		Handshakes:        r.handshakes.snapshot(),
		UpstreamPlaintext: upstreamPlaintext.Load(),
	}
	for _, reason := range EndReasons() {
		s.CallsEnded[reason] = r.endCount(reason)
	}
	// Traffic is what was relayed, counted on the leg it arrived on: what
	// the phone leg forwarded went phone -> upstream.
	add := func(dir string, c *Counts) {
		k := s.Traffic[[2]string{dir, "rtp"}]
		k.Packets += c.FwdPackets - c.FwdRTCP
		k.Bytes += c.FwdBytes - c.FwdRTCPB
		s.Traffic[[2]string{dir, "rtp"}] = k
		k = s.Traffic[[2]string{dir, "rtcp"}]
		k.Packets += c.FwdRTCP
		k.Bytes += c.FwdRTCPB
		s.Traffic[[2]string{dir, "rtcp"}] = k
		for i, n := range c.Drops {
			if i != int(dropNone) {
				s.Drops[DropReason(i)] += n
			}
		}
	}
	r.mu.Lock()
	s.ActiveCalls = len(r.calls)
	add(DirPhoneToUpstream, &r.endedPhone)
	add(DirUpstreamToPhone, &r.endedUpstream)
	for _, c := range r.calls {
		for _, l := range c.legs {
			dir := DirPhoneToUpstream
			if l.secure() {
				dir = DirUpstreamToPhone
			}
			for _, m := range l.medias {
				for _, st := range m.streams() {
					snap := st.stats.snapshot()
					add(dir, &snap)
				}
			}
		}
	}
	r.mu.Unlock()
	for _, p := range r.pools {
		free, q, total := p.Stats()
		s.PortsFree += 2 * free
		s.PortsQuarantined += 2 * q
		s.PortsTotal += 2 * total
	}
	return s
}
