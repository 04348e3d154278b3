package metrics

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
)

// PHI a buggy or hostile source might carry where a label value could come
// from: an E.164 number, a SIP Call-ID, addresses, a tag.
const (
	phoneNumber = "+15551234567"
	callID      = "a84b4c76e66710@pc33.clinic.example"
	ipv4        = "192.0.2.10"
	addrPort    = "198.51.100.7:5060"
	ipv6        = "2001:db8::1"
	sipTag      = "1928301774"
)

var hostileKeys = []string{phoneNumber, callID, ipv4, addrPort, ipv6, sipTag, "offer\x00", "OFFER", "start recording "}

// hostileSources carry PHI in every map key the collector turns into a
// label, as if a source had a bug or an ng client chose the strings. Each
// hostile key carries 1, so the folded "unknown" series must count
// len(hostileKeys) per map.
func hostileSources() Sources {
	rs := relay.Snapshot{
		CallsEnded: map[relay.EndReason]uint64{relay.EndDelete: 1},
		Traffic:    map[[2]string]relay.Traffic{},
		Drops:      map[relay.DropReason]uint64{relay.DropAuth: 1, relay.DropReason(200): 1},
		Handshakes: relay.HandshakeSnapshot{Results: map[string]uint64{}},
	}
	ns := ng.Stats{
		Requests:  map[ng.RequestKey]uint64{},
		Durations: map[string]ng.Histogram{},
		Dropped:   map[string]uint64{},
	}
	as := audit.Stats{Records: map[string]uint64{}, Lost: map[string]uint64{}, LastWrite: time.Unix(1, 0)}
	for _, k := range hostileKeys {
		rs.CallsEnded[relay.EndReason(k)] = 1
		rs.Traffic[[2]string{k, "rtp"}] = relay.Traffic{Packets: 1, Bytes: 1}
		rs.Traffic[[2]string{relay.DirPhoneToUpstream, k}] = relay.Traffic{Packets: 1, Bytes: 1}
		rs.Handshakes.Results[k] = 1
		ns.Requests[ng.RequestKey{Command: k, Result: ng.ResultOK}] = 1
		ns.Requests[ng.RequestKey{Command: "offer", Result: k}] = 1
		ns.Durations[k] = cumulative(1, 0.001, 0, 1)
		ns.Dropped[k] = 1
		as.Records[k] = 1
		as.Lost[k] = 1
	}
	return Sources{Relay: fakeRelay{rs}, NG: fakeNG{ns}, Audit: fakeAudit{as}}
}

var (
	e164  = regexp.MustCompile(`^\+?[0-9]{6,15}$`)
	quad  = regexp.MustCompile(`[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`)
	hexV6 = regexp.MustCompile(`(?i)[0-9a-f]{0,4}:[0-9a-f]{0,4}:`)
)

// phiReason says why a label value looks like PHI, or "" if it does not.
func phiReason(v string) string {
	switch {
	case e164.MatchString(v):
		return "E.164 number"
	case strings.Contains(v, "@"):
		return "Call-ID-like ('@')"
	case quad.MatchString(v):
		return "IPv4 address"
	case hexV6.MatchString(v):
		return "IPv6 address"
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return "IP address"
	}
	if _, err := netip.ParseAddrPort(v); err == nil {
		return "address:port"
	}
	return ""
}

func TestPHIDetector(t *testing.T) {
	for _, v := range hostileKeys[:6] {
		if phiReason(v) == "" {
			t.Errorf("detector misses %q", v)
		}
	}
	for _, v := range []string{"phone_to_upstream", "rtp", "start recording", "go1.26.8", "v1.2.3", "0123456789abcdef0123456789abcdef01234567"} {
		if r := phiReason(v); r != "" {
			t.Errorf("detector flags %q as %s", v, r)
		}
	}
}

// allowedLabels is every label value an srtpgw_ series may carry, by label
// name; build_info's free-form labels are checked by the PHI patterns only.
func allowedLabels() map[string]map[string]bool {
	set := func(es ...enum) map[string]bool {
		m := map[string]bool{unknown: true}
		for _, e := range es {
			for _, v := range e.values {
				m[v] = true
			}
		}
		return m
	}
	return map[string]map[string]bool{
		"end_reason": set(endReasons),
		"direction":  set(directions),
		"kind":       set(kinds),
		"reason":     set(dropReasons, ngDrops),
		"result":     set(handshakeResults, ngResults),
		"command":    set(ngCommands),
		"type":       set(auditTypes),
	}
}

// TestNoPHIInLabels scrapes the whole registry (Go and process collectors
// included) fed with hostile sources and requires that no label value
// looks like a phone number, an address or a Call-ID, and that every
// srtpgw_ label value is from its fixed enumeration (security requirement
// C5).
func TestNoPHIInLabels(t *testing.T) {
	fams := gather(t, NewRegistry(hostileSources(), goldenBuild))
	checkLabels(t, fams)
}

func checkLabels(t *testing.T, fams []*dto.MetricFamily) {
	t.Helper()
	allowed := allowedLabels()
	n := 0
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				n++
				v := l.GetValue()
				if r := phiReason(v); r != "" {
					t.Errorf("%s{%s=%q}: label value looks like %s", f.GetName(), l.GetName(), v, r)
				}
				if !strings.HasPrefix(f.GetName(), Namespace+"_") || f.GetName() == "srtpgw_build_info" {
					continue
				}
				if ok := allowed[l.GetName()]; ok == nil || !ok[v] {
					t.Errorf("%s{%s=%q}: not a fixed label value", f.GetName(), l.GetName(), v)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("scrape has no labels at all")
	}
}

// TestHostileKeysFoldIntoUnknown checks that made-up keys are counted, not
// lost, and land in "unknown" (or ng's own "unknown" command).
func TestHostileKeysFoldIntoUnknown(t *testing.T) {
	fams := gather(t, NewRegistry(hostileSources(), goldenBuild))
	n := float64(len(hostileKeys))
	cases := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"srtpgw_calls_total", labels("end_reason", unknown), n},
		{"srtpgw_calls_total", labels("end_reason", "delete"), 1},
		{"srtpgw_packets_total", labels("direction", unknown, "kind", "rtp"), n},
		{"srtpgw_packets_total", labels("direction", relay.DirPhoneToUpstream, "kind", unknown), n},
		{"srtpgw_bytes_total", labels("direction", unknown, "kind", "rtp"), n},
		{"srtpgw_packets_dropped_total", labels("reason", unknown), 1},
		{"srtpgw_packets_dropped_total", labels("reason", "auth"), 1},
		{"srtpgw_dtls_handshakes_total", labels("result", unknown), n},
		{"srtpgw_ng_requests_total", labels("command", "unknown", "result", ng.ResultOK), n},
		{"srtpgw_ng_requests_total", labels("command", "offer", "result", unknown), n},
		{"srtpgw_ng_request_duration_seconds", labels("command", "unknown"), n},
		{"srtpgw_ng_dropped_total", labels("reason", unknown), n},
		{"srtpgw_audit_records_total", labels("type", unknown), n},
		{"srtpgw_audit_records_lost_total", labels("type", unknown), n},
		{"srtpgw_audit_last_write_timestamp_seconds", nil, 1},
	}
	for _, tc := range cases {
		got, ok := value(fams, tc.name, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
}
