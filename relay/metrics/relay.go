package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/srtpgw/srtpgw/relay"
)

type relayDescs struct {
	callsActive, callsStarted, callsEnded, callsRejected *prometheus.Desc
	packets, bytes, dropped                              *prometheus.Desc
	handshakes, handshakeDuration                        *prometheus.Desc
	portsFree, portsQuarantined, portsCapacity           *prometheus.Desc
	upstreamPlaintext                                    *prometheus.Desc
}

func newRelayDescs() relayDescs {
	return relayDescs{
		callsActive:   desc("calls_active", "Calls in the call table now."),
		callsStarted:  desc("calls_started_total", "Calls created by an ng offer."),
		callsEnded:    desc("calls_total", "Calls ended, by why they ended.", "end_reason"),
		callsRejected: desc("calls_rejected_total", "Offers for a new call that were refused (crypto policy, session limit, ports, bad SDP)."),
		packets: desc("packets_total",
			"RTP/RTCP packets accepted and forwarded, by direction and kind.", "direction", "kind"),
		bytes: desc("bytes_total",
			"Bytes of accepted packets as received (SRTP/SRTCP size on the upstream leg), by direction and kind.", "direction", "kind"),
		dropped: desc("packets_dropped_total",
			"Datagrams the packet path discarded, by reason.", "reason"),
		handshakes: desc("dtls_handshakes_total",
			"DTLS-SRTP handshakes finished, by result.", "result"),
		handshakeDuration: desc("dtls_handshake_duration_seconds",
			"Duration of successful DTLS-SRTP handshakes."),
		portsFree:        desc("ports_free", "Media ports free for new calls."),
		portsQuarantined: desc("ports_quarantined", "Media ports released by a call and resting before reuse."),
		portsCapacity:    desc("ports_capacity", "Media ports in the configured ranges, over all interfaces."),
		upstreamPlaintext: desc("upstream_plaintext_packets_total",
			"Plain packets that reached the egress toward a DTLS-SRTP leg unencrypted (dropped there). Must stay 0."),
	}
}

func (d *relayDescs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{
		d.callsActive, d.callsStarted, d.callsEnded, d.callsRejected,
		d.packets, d.bytes, d.dropped, d.handshakes, d.handshakeDuration,
		d.portsFree, d.portsQuarantined, d.portsCapacity, d.upstreamPlaintext,
	} {
		ch <- x
	}
}

func (d *relayDescs) collect(e emitter, s relay.Snapshot) {
	e.gauge(d.callsActive, float64(s.ActiveCalls))
	e.counter(d.callsStarted, s.CallsStarted)
	e.counters(d.callsEnded, endReasons, tally(endReasons, s.CallsEnded, func(r relay.EndReason) string { return string(r) }))
	e.counter(d.callsRejected, s.Rejected)

	d.collectTraffic(e, s.Traffic)
	e.counters(d.dropped, dropReasons, tally(dropReasons, s.Drops, relay.DropReason.String))

	e.counters(d.handshakes, handshakeResults, tally(handshakeResults, s.Handshakes.Results, identity))
	e.histogram(d.handshakeDuration,
		fromPerBucket(relay.HandshakeBuckets, s.Handshakes.Buckets, s.Handshakes.Sum.Seconds()))

	e.gauge(d.portsFree, float64(s.PortsFree))
	e.gauge(d.portsQuarantined, float64(s.PortsQuarantined))
	e.gauge(d.portsCapacity, float64(s.PortsTotal))
	e.counter(d.upstreamPlaintext, s.UpstreamPlaintext)
}

// collectTraffic folds Traffic, keyed by [direction, kind], onto the two
// fixed enumerations; every direction x kind series is always present.
func (d *relayDescs) collectTraffic(e emitter, t map[[2]string]relay.Traffic) {
	packets := make([][]uint64, directions.size())
	bytes := make([][]uint64, directions.size())
	for i := range packets {
		packets[i] = make([]uint64, kinds.size())
		bytes[i] = make([]uint64, kinds.size())
	}
	for k, v := range t {
		i, j := directions.slot(k[0]), kinds.slot(k[1])
		packets[i][j] += v.Packets
		bytes[i][j] += v.Bytes
	}
	for i := range packets {
		for j := range packets[i] {
			known := i < len(directions.values) && j < len(kinds.values)
			if !known && packets[i][j] == 0 && bytes[i][j] == 0 {
				continue
			}
			dir, kind := directions.label(i), kinds.label(j)
			e.counter(d.packets, packets[i][j], dir, kind)
			e.counter(d.bytes, bytes[i][j], dir, kind)
		}
	}
}
