package main

// The upstream vanishes mid-call (a cloud PBX crashes, a WAN link drops, a
// malicious WebRTC peer walks away without a BYE). srtpgw's --timeout ends
// a call after that long without an accepted packet on any of its streams,
// as rtpengine does; the ports of the ended call rest in quarantine before
// reuse (A1: late packets never reach the next call).

import (
	"bytes"
	"testing"
	"time"
)

// TestAbuseUpstreamVanishesBothStop: --timeout 3; the upstream closes and
// the phone stops sending. The call ends with end_reason timeout within a
// bound (timeout + the 1 s reaper pass + slack), with a call_end record and
// srtpgw_calls_total{end_reason="timeout"}; its four ports show in
// srtpgw_ports_quarantined and then return to srtpgw_ports_free.
func TestAbuseUpstreamVanishesBothStop(t *testing.T) {
	t.Parallel()
	d, cfg := startTestDaemon(t, func(c *Config) {
		c.Timeout = 3 * time.Second
		c.PortMin, c.PortMax = 26900, 26999
	})
	free0 := metric(t, d, "srtpgw_ports_free")
	_, up, _ := placeDemoCall(t, ngAddrOf(d), "vanish@clinic")
	up.Close() // the upstream is gone; the phone sent its last packet in placeDemoCall
	gone := time.Now()
	const bound = 3*time.Second + 3*time.Second
	var end map[string]any
	waitUntil(t, bound, "call_end after the timeout", func() bool {
		if e := pick(liveRecords(t, cfg.AuditLog), "call_end", ""); len(e) == 1 {
			end = e[0]
		}
		return end != nil
	})
	took := time.Since(gone)
	if end["end_reason"] != "timeout" {
		t.Fatalf("call_end %v, want end_reason timeout", end)
	}
	if took < 2*time.Second {
		t.Fatalf("call ended %v after the last packet, before --timeout 3", took)
	}
	t.Logf("call ended %v after the upstream vanished (--timeout 3)", took.Round(100*time.Millisecond))
	if n := metric(t, d, `srtpgw_calls_total{end_reason="timeout"}`); n != 1 {
		t.Fatalf(`srtpgw_calls_total{end_reason="timeout"} %v`, n)
	}
	if q := metric(t, d, "srtpgw_ports_quarantined"); q != 4 {
		t.Fatalf("%v ports quarantined after the timeout, want 4 (a pair per leg)", q)
	}
	if f := metric(t, d, "srtpgw_ports_free"); f != free0-4 {
		t.Fatalf("%v ports free while quarantined, want %v", f, free0-4)
	}
	waitUntil(t, 15*time.Second, "ports back from quarantine", func() bool {
		return metric(t, d, "srtpgw_ports_free") == free0 && metric(t, d, "srtpgw_ports_quarantined") == 0
	})
	assertHealthy(t, d, "after-vanish@clinic")
}

// TestAbuseUpstreamVanishesPhoneKeepsSending pins what srtpgw does today
// when the upstream is gone but the phone keeps talking: every packet the
// phone sends is accepted on the phone leg, and an accepted packet on any
// stream counts as activity (rtpengine's semantics), so the call never
// times out; it holds its ports and keeps encrypting toward the dead
// address (never plaintext) until the proxy deletes it or --final-timeout
// ends it. Whether a one-sided call should time out is a design question
// raised in the hardening report; if the answer is yes, invert the
// "still listed" assertion below.
func TestAbuseUpstreamVanishesPhoneKeepsSending(t *testing.T) {
	t.Parallel()
	d, cfg := startTestDaemon(t, func(c *Config) {
		c.Timeout = time.Second // --timeout 1
		c.PortMin, c.PortMax = 27000, 27099
	})
	phone, up, _ := placeDemoCall(t, ngAddrOf(d), "one-sided@clinic")
	up.Close()
	// The phone keeps talking to a gone upstream: the upstream party's
	// silence ends the call all the same (a per-party timeout).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var end []map[string]any
	for start := time.Now(); time.Since(start) < 6*time.Second; <-tick.C {
		phone.SendRTP(bytes.Repeat([]byte{0xd5}, 160))
		if end = pick(liveRecords(t, cfg.AuditLog), "call_end", ""); len(end) != 0 {
			break
		}
	}
	if len(end) != 1 || end[0]["end_reason"] != "timeout" {
		t.Fatalf("call_end %v: want one with end_reason timeout while the phone still talks", end)
	}
	if metric(t, d, "srtpgw_upstream_plaintext_packets_total") != 0 {
		t.Fatal("plaintext toward the upstream")
	}
}
