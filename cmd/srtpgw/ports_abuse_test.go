package main

// Resource exhaustion over ng: the media port range and --max-sessions.
// Kamailio fails over to another gateway only on rtpengine's exact strings
// (ng-protocol.md b.2), so those are asserted byte for byte, and a refused
// offer must not keep any port it briefly held.

import (
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/ng"
	"github.com/srtpgw/srtpgw/relay/sim"
)

// offerOnly sends an ng offer for a fresh phone and returns the reply and
// its error. The phone is closed when the test ends.
func offerOnly(t *testing.T, c *ngClient, callID string, supportsLoadLimit bool) (ng.Value, error) {
	t.Helper()
	phone, err := sim.NewPhone(loopback)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(phone.Close)
	e := []ng.Entry{ng.E("command", ng.String("offer")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String("ft")), ng.E("sdp", ng.Bytes(phone.OfferSDP(1))),
		ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP"))}
	if supportsLoadLimit {
		e = append(e, ng.E("supports", strs("load limit")))
	}
	return c.call(e...)
}

// TestAbusePortExhaustion: a range of 5 port pairs holds two calls (a call
// takes a pair on each leg). The third offer gets its phone-leg pair, fails
// on the upstream leg and must give that pair back: the reply is exactly
// `Ran out of ports` (even with load-limit support: Kamailio fails over on
// this string), srtpgw_ports_free is unchanged, nothing sits in
// quarantine for it, and srtpgw_calls_rejected_total counts it. After a
// delete, the freed ports rest in quarantine (relay.Config.PortQuarantine,
// 10 s, has no flag) and then serve a new call.
func TestAbusePortExhaustion(t *testing.T) {
	t.Parallel()
	d, _ := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 26700, 26709 })
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if capacity := metric(t, d, "srtpgw_ports_capacity"); capacity != 10 {
		t.Fatalf("srtpgw_ports_capacity %v, want 10", capacity)
	}
	var placed int
	for placed = 0; placed < 10; placed++ {
		free := metric(t, d, "srtpgw_ports_free")
		q := metric(t, d, "srtpgw_ports_quarantined")
		rejected := metric(t, d, "srtpgw_calls_rejected_total")
		rep, err := offerOnly(t, c, "fill-"+string(rune('a'+placed))+"@clinic", true)
		if err == nil {
			continue
		}
		if reasonOf(rep) != "Ran out of ports" {
			t.Fatalf("offer %d: %v, want exactly \"Ran out of ports\"", placed+1, err)
		}
		if f, qq := metric(t, d, "srtpgw_ports_free"), metric(t, d, "srtpgw_ports_quarantined"); f != free || qq != q {
			t.Fatalf("refused offer changed the pool: free %v -> %v, quarantined %v -> %v", free, f, q, qq)
		}
		if free != 2 {
			t.Fatalf("%v ports free before the refused offer, want 2 (one pair: the partial-allocation case)", free)
		}
		if r := metric(t, d, "srtpgw_calls_rejected_total"); r != rejected+1 {
			t.Fatalf("srtpgw_calls_rejected_total %v, want %v", r, rejected+1)
		}
		break
	}
	if placed != 2 {
		t.Fatalf("%d calls placed before exhaustion, want 2", placed)
	}
	if n := metric(t, d, "srtpgw_calls_active"); n != 2 {
		t.Fatalf("%v calls active", n)
	}
	for _, id := range []string{"fill-a@clinic", "fill-b@clinic"} {
		if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(id))); err != nil {
			t.Fatal(err)
		}
	}
	if q := metric(t, d, "srtpgw_ports_quarantined"); q != 8 {
		t.Fatalf("%v ports in quarantine after two deletes, want 8", q)
	}
	waitUntil(t, 20*time.Second, "ports back from quarantine", func() bool {
		return metric(t, d, "srtpgw_ports_free") == 10 && metric(t, d, "srtpgw_ports_quarantined") == 0
	})
	assertHealthy(t, d, "after-exhaustion@clinic")
}

// TestAbuseSessionLimit: with --max-sessions 1 a second call is refused
// with `result: load limit` when the proxy said `supports: ["load limit"]`
// (Kamailio always does) and with the error `Parallel session limit
// reached` when it did not; either way no port is taken. A delete makes
// room at once.
func TestAbuseSessionLimit(t *testing.T) {
	d, _ := startTestDaemon(t, func(c *Config) {
		c.MaxSessions = 1
		c.PortMin, c.PortMax = 26800, 26899
	})
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := offerOnly(t, c, "first@clinic", true); err != nil {
		t.Fatal(err)
	}
	free := metric(t, d, "srtpgw_ports_free")
	rep, err := offerOnly(t, c, "second@clinic", true)
	if err != nil {
		t.Fatalf("with load-limit support: %v", err)
	}
	if r, _ := rep.Get("result").Str(); r != "load limit" {
		t.Fatalf("result %q, want \"load limit\": %q", r, ng.Encode(rep))
	}
	if m, _ := rep.Get("message").Str(); m != "Parallel session limit reached" {
		t.Fatalf("message %q", m)
	}
	rep, err = offerOnly(t, c, "third@clinic", false)
	if err == nil || reasonOf(rep) != "Parallel session limit reached" {
		t.Fatalf("without load-limit support: %q, %v", ng.Encode(rep), err)
	}
	if f := metric(t, d, "srtpgw_ports_free"); f != free {
		t.Fatalf("refused offers changed srtpgw_ports_free %v -> %v", free, f)
	}
	if n := metric(t, d, `srtpgw_ng_requests_total{command="offer",result="load_limit"}`); n != 1 {
		t.Fatalf("offer load_limit count %v", n)
	}
	if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String("first@clinic"))); err != nil {
		t.Fatal(err)
	}
	assertHealthy(t, d, "after-limit@clinic")
}
