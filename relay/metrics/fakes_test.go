package metrics

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
)

type fakeRelay struct{ s relay.Snapshot }

func (f fakeRelay) Snapshot() relay.Snapshot { return f.s }

type fakeNG struct{ s ng.Stats }

func (f fakeNG) Stats() ng.Stats { return f.s }

type fakeAudit struct{ s audit.Stats }

func (f fakeAudit) Stats() audit.Stats { return f.s }

var goldenBuild = BuildInfo{Version: "v1.2.3", GoVersion: "go1.26.8", Revision: "0123456789abcdef0123456789abcdef01234567"}

// goldenSources are fixed snapshots with a value in most places, so the
// golden file shows where each source field lands.
func goldenSources() Sources {
	return Sources{
		Relay: fakeRelay{relay.Snapshot{
			ActiveCalls:  3,
			CallsStarted: 42,
			CallsEnded: map[relay.EndReason]uint64{
				relay.EndDelete: 30, relay.EndTimeout: 5, relay.EndDTLSFailed: 2, relay.EndShutdown: 0,
			},
			Rejected: 4,
			Traffic: map[[2]string]relay.Traffic{
				{relay.DirPhoneToUpstream, "rtp"}:  {Packets: 1000, Bytes: 172000},
				{relay.DirPhoneToUpstream, "rtcp"}: {Packets: 10, Bytes: 520},
				{relay.DirUpstreamToPhone, "rtp"}:  {Packets: 990, Bytes: 186120},
				{relay.DirUpstreamToPhone, "rtcp"}: {Packets: 9, Bytes: 666},
			},
			Drops: map[relay.DropReason]uint64{
				relay.DropMalformed: 7, relay.DropRogueSource: 3, relay.DropNoKeys: 12, relay.DropAuth: 1,
			},
			Handshakes: relay.HandshakeSnapshot{
				Results: map[string]uint64{"ok": 40, "fingerprint_mismatch": 1, "timeout": 1, "limited": 0, "error": 0},
				// Per bucket over relay.HandshakeBuckets, last is +Inf.
				Buckets: []uint64{0, 3, 20, 10, 4, 2, 0, 0, 1, 0, 0, 0},
				Sum:     1234 * time.Millisecond,
			},
			PortsFree:        180,
			PortsQuarantined: 4,
			PortsTotal:       200,
		}},
		NG: fakeNG{ng.Stats{
			Requests: map[ng.RequestKey]uint64{
				{Command: "ping", Result: ng.ResultPong}:               100,
				{Command: "offer", Result: ng.ResultOK}:                40,
				{Command: "offer", Result: ng.ResultError}:             2,
				{Command: "answer", Result: ng.ResultOK}:               38,
				{Command: "delete", Result: ng.ResultOK}:               35,
				{Command: "start recording", Result: ng.ResultRefused}: 1,
				{Command: "unknown", Result: ng.ResultError}:           3,
			},
			Durations: map[string]ng.Histogram{
				"ping":  cumulative(100, 0.01, 100),
				"offer": cumulative(42, 0.21, 0, 5, 30, 40, 41, 42),
			},
			Dropped:          map[string]uint64{ng.DropNoCookie: 1, ng.DropTooLarge: 0, ng.DropMalformed: 2, ng.DropNotAllowed: 6},
			CacheHits:        5,
			CacheEntries:     12,
			EventsSuppressed: 2,
		}},
		Audit: fakeAudit{audit.Stats{
			Records: map[string]uint64{
				"log_open": 1, "checkpoint": 10, "startup": 1, "call_start": 42,
				"dtls_established": 40, "dtls_failed": 2, "call_end": 39, "security": 1,
			},
			Lost:           map[string]uint64{},
			LastWrite:      time.Date(2026, 1, 2, 3, 4, 5, 500e6, time.UTC),
			LastCheckpoint: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC),
			Seq:            96,
			Healthy:        true,
		}},
	}
}

// cumulative builds an ng histogram over ng.DurationBuckets whose first
// buckets hold cum (the rest repeat the last value).
func cumulative(count uint64, sum float64, cum ...uint64) ng.Histogram {
	h := ng.Histogram{Bounds: ng.DurationBuckets, Cumulative: make([]uint64, len(ng.DurationBuckets)), Count: count, Sum: sum}
	var last uint64
	for i := range h.Cumulative {
		if i < len(cum) {
			last = cum[i]
		}
		h.Cumulative[i] = last
	}
	return h
}

// gather collects g and fails the test on error.
func gather(t *testing.T, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return fams
}

// ownFamilies drops the Go and process collectors' families, which vary
// from run to run.
func ownFamilies(fams []*dto.MetricFamily) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), Namespace+"_") {
			out = append(out, f)
		}
	}
	return out
}

// exposition renders families in the text format /metrics serves.
func exposition(t *testing.T, fams []*dto.MetricFamily) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			t.Fatalf("encode %s: %v", f.GetName(), err)
		}
	}
	return buf.Bytes()
}

// value returns the value of the sample of family name whose labels
// include want (counter, gauge or the histogram's count), and whether it
// exists.
func value(fams []*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// labels is a shorthand for value's label filter: labels("k", "v", ...).
func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
