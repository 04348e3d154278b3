package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every srtpgw metric.
const Namespace = "srtpgw"

// Collector is srtpgw's Prometheus collector. It holds no counters of its
// own: each Collect reads the sources once and builds const metrics, so a
// scrape costs one relay.Snapshot, one ng Stats and one audit Stats.
// It is safe for concurrent scrapes as long as the sources are (the real
// ones are).
type Collector struct {
	src   Sources
	build BuildInfo
	d     descs
}

// New returns a collector over src. Absent sources (nil, or a typed nil
// pointer) contribute no metrics; srtpgw_build_info is always there.
func New(src Sources, build BuildInfo) *Collector {
	if !present(src.Relay) {
		src.Relay = nil
	}
	if !present(src.NG) {
		src.NG = nil
	}
	if !present(src.Audit) {
		src.Audit = nil
	}
	return &Collector{src: src, build: build.normalized(), d: newDescs()}
}

// Describe sends the descriptors of the metrics Collect can send, so the
// registry checks names, types and label sets at registration.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.d.buildInfo
	if c.src.Relay != nil {
		c.d.relay.describe(ch)
	}
	if c.src.NG != nil {
		c.d.ng.describe(ch)
	}
	if c.src.Audit != nil {
		c.d.audit.describe(ch)
	}
}

// Collect reads the sources and sends their metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	e := emitter{ch}
	b := c.build
	e.gauge(c.d.buildInfo, 1, b.Version, b.GoVersion, b.Revision)
	if c.src.Relay != nil {
		c.d.relay.collect(e, c.src.Relay.Snapshot())
	}
	if c.src.NG != nil {
		c.d.ng.collect(e, c.src.NG.Stats())
	}
	if c.src.Audit != nil {
		c.d.audit.collect(e, c.src.Audit.Stats())
	}
}

type descs struct {
	buildInfo *prometheus.Desc
	relay     relayDescs
	ng        ngDescs
	audit     auditDescs
}

func newDescs() descs {
	return descs{
		buildInfo: desc("build_info", "Always 1; the labels say which srtpgw build is running.", "version", "goversion", "revision"),
		relay:     newRelayDescs(),
		ng:        newNGDescs(),
		audit:     newAuditDescs(),
	}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// emitter sends const metrics. Building one only fails on a label count
// mismatch or a label value that is not UTF-8, neither of which fixed
// enumerations produce; should it happen anyway, the scrape reports the
// error (an invalid metric) instead of panicking in a Gather goroutine.
type emitter struct {
	ch chan<- prometheus.Metric
}

func (e emitter) send(m prometheus.Metric, err error, d *prometheus.Desc) {
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

func (e emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	e.send(m, err, d)
}

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
	e.send(m, err, d)
}

func (e emitter) histogram(d *prometheus.Desc, h histData, labels ...string) {
	m, err := prometheus.NewConstHistogram(d, h.count, h.sum, h.buckets, labels...)
	e.send(m, err, d)
}

// counters sends one counter per slot of en: every enumerated value, so
// each series exists from the first scrape and increase() sees its first
// event, plus "unknown" only when a source reported something outside
// the enumeration.
func (e emitter) counters(d *prometheus.Desc, en enum, vals []uint64) {
	for i, v := range vals {
		if i >= len(en.values) && v == 0 {
			continue
		}
		e.counter(d, v, en.label(i))
	}
}
