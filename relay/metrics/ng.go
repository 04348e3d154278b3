package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/srtpgw/srtpgw/relay/ng"
)

type ngDescs struct {
	requests, duration, dropped             *prometheus.Desc
	cacheHits, cacheEvictions, cacheEntries *prometheus.Desc
	eventsSuppressed                        *prometheus.Desc
}

func newNGDescs() ngDescs {
	return ngDescs{
		requests: desc("ng_requests_total",
			"ng control requests answered, by command and result (retransmissions answered from the cache excluded).", "command", "result"),
		duration: desc("ng_request_duration_seconds",
			"Time from an ng request's arrival to its reply, by command.", "command"),
		dropped: desc("ng_dropped_total",
			"ng datagrams dropped without a reply, by reason.", "reason"),
		cacheHits: desc("ng_cache_hits_total",
			"Retransmitted ng requests answered from the reply cache."),
		cacheEvictions: desc("ng_cache_evictions_total",
			"Early reply-cache generation swaps forced by its size bound; each may shorten retention below the TTL."),
		cacheEntries: desc("ng_cache_entries",
			"Replies held in the ng reply cache now."),
		eventsSuppressed: desc("ng_events_suppressed_total",
			"Log and audit events about refused ng clients skipped by rate limiting."),
	}
}

func (d *ngDescs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{
		d.requests, d.duration, d.dropped,
		d.cacheHits, d.cacheEvictions, d.cacheEntries, d.eventsSuppressed,
	} {
		ch <- x
	}
}

func (d *ngDescs) collect(e emitter, s ng.Stats) {
	d.collectRequests(e, s.Requests)
	d.collectDurations(e, s.Durations)
	e.counters(d.dropped, ngDrops, tally(ngDrops, s.Dropped, identity))
	e.counter(d.cacheHits, s.CacheHits)
	e.counter(d.cacheEvictions, s.CacheEvictions)
	e.gauge(d.cacheEntries, float64(s.CacheEntries))
	e.counter(d.eventsSuppressed, s.EventsSuppressed)
}

// collectRequests sends every command x result pair, zeros included: the
// first refused "start recording" (an attempt to weaken confidentiality,
// DESIGN §5) is exactly the event an increase()-based alert must not miss
// for want of an earlier sample. ng.Stats already uses ng's own command
// names; the enumeration is what guarantees it.
func (d *ngDescs) collectRequests(e emitter, reqs map[ng.RequestKey]uint64) {
	counts := make([][]uint64, ngCommands.size())
	for i := range counts {
		counts[i] = make([]uint64, ngResults.size())
	}
	for k, v := range reqs {
		counts[ngCommands.slot(k.Command)][ngResults.slot(k.Result)] += v
	}
	for i := range counts {
		for j, v := range counts[i] {
			known := i < len(ngCommands.values) && j < len(ngResults.values)
			if !known && v == 0 {
				continue
			}
			e.counter(d.requests, v, ngCommands.label(i), ngResults.label(j))
		}
	}
}

// collectDurations sends a histogram per command seen so far; ng keeps
// none for commands never received, and 16 zero series each for ~40
// mostly disabled commands would be noise.
func (d *ngDescs) collectDurations(e emitter, durs map[string]ng.Histogram) {
	byCmd := make(map[int]*histData, len(durs))
	for name, h := range durs {
		i := ngCommands.slot(name)
		acc := byCmd[i]
		if acc == nil {
			acc = &histData{}
			byCmd[i] = acc
		}
		acc.add(fromCumulative(h))
	}
	for i, h := range byCmd {
		e.histogram(d.duration, *h, ngCommands.label(i))
	}
}
