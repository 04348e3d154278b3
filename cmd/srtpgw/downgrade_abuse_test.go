package main

// The downgrade matrix (security requirements A7, T4) driven through ng,
// the way a misconfigured or compromised SIP proxy would ask for it. The Go
// API matrix is relay.TestPolicyRefusals; this one checks what the proxy
// and the auditor see: the exact error reply, the call-log records, and
// that nothing of the refused call stays behind.

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/ng"
	"github.com/srtpgw/srtpgw/relay/sim"
)

// weakFingerprint replaces the sha-256 fingerprint in an SDP with one of
// the named hash (RFC 8122 allows the syntax; srtpgw's policy does not).
func weakFingerprint(sdp []byte, hash string, size int) []byte {
	b := make([]byte, size)
	rand.Read(b)
	parts := make([]string, size)
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	re := regexp.MustCompile(`a=fingerprint:sha-256 [0-9A-Fa-f:]+`)
	return re.ReplaceAll(sdp, []byte("a=fingerprint:"+hash+" "+strings.Join(parts, ":")))
}

type downgradeCase struct {
	name    string
	offer   []ng.Entry                                  // flags added to the offer
	answer  func(up *sim.Upstream, offer []byte) []byte // nil: the offer itself is refused
	command string                                      // the refused command
	reply   string                                      // the exact error-reason
}

var downgradeCases = []downgradeCase{
	{
		name:    "phone media address outside the configured networks",
		offer:   []ng.Entry{ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP")), ng.E("media-address", ng.String("203.0.113.50"))},
		command: "offer",
		reply:   "refused by policy: plain RTP to 203.0.113.50: the phone leg's media address is outside --phone-networks, and srtpgw never sends unencrypted audio there",
	},
	{
		name:    "plain RTP/AVP upstream",
		offer:   []ng.Entry{ng.E("transport-protocol", ng.String("RTP/AVP"))},
		command: "offer",
		reply:   "refused by policy: plain RTP/AVP on the upstream leg: srtpgw encrypts every call that leaves the building; ask for transport-protocol UDP/TLS/RTP/SAVP(F) toward the upstream",
	},
	{
		name:    "no transport-protocol (plain by default)",
		command: "offer",
		reply:   "refused by policy: plain RTP/AVP on the upstream leg: srtpgw encrypts every call that leaves the building; ask for transport-protocol UDP/TLS/RTP/SAVP(F) toward the upstream",
	},
	{
		name:    "SDES upstream",
		offer:   []ng.Entry{ng.E("transport-protocol", ng.String("RTP/SAVP")), ng.E("SDES", strs("only-AES_CM_128_HMAC_SHA1_80"))},
		command: "offer",
		reply:   "refused by policy: transport-protocol RTP/SAVP uses SDES keys in signalling (RFC 4568); srtpgw only keys SRTP with DTLS (use UDP/TLS/RTP/SAVP or UDP/TLS/RTP/SAVPF)",
	},
	{
		name:    "SDES flag on a DTLS transport",
		offer:   []ng.Entry{ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP")), ng.E("SDES", strs("only-AES_CM_128_HMAC_SHA1_80"))},
		command: "offer",
		reply:   "refused by policy: SDES=only-AES_CM_128_HMAC_SHA1_80: SDES is disabled by policy, only SDES=off is accepted",
	},
	{
		name:    "OSRTP best effort",
		offer:   []ng.Entry{ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP")), ng.E("OSRTP", strs("offer"))},
		command: "offer",
		reply:   "refused by policy: OSRTP=offer: opportunistic (best-effort) SRTP is disabled by policy; the upstream leg is always DTLS-SRTP",
	},
	{
		name:    "DTLS off",
		offer:   []ng.Entry{ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP")), ng.E("DTLS", ng.String("off"))},
		command: "offer",
		reply:   "refused by policy: DTLS=off with a UDP/TLS transport: DTLS is the only key exchange srtpgw allows",
	},
	{
		name:  "answer with only a sha-1 fingerprint",
		offer: []ng.Entry{ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP"))},
		answer: func(up *sim.Upstream, offer []byte) []byte {
			a, _ := up.Answer(offer)
			return weakFingerprint(a, "sha-1", 20)
		},
		command: "answer",
		reply:   "refused by policy: m= line 1: fingerprint hash sha-1 is not allowed; srtpgw accepts sha-256, sha-384 and sha-512 (RFC 8122)",
	},
	{
		name:  "answer with only an md5 fingerprint",
		offer: []ng.Entry{ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP"))},
		answer: func(up *sim.Upstream, offer []byte) []byte {
			a, _ := up.Answer(offer)
			return weakFingerprint(a, "md5", 16)
		},
		command: "answer",
		reply:   "refused by policy: m= line 1: fingerprint hash md5 is not allowed; srtpgw accepts sha-256, sha-384 and sha-512 (RFC 8122)",
	},
	{
		name:  "upstream answers plain RTP/AVP",
		offer: []ng.Entry{ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP"))},
		answer: func(up *sim.Upstream, offer []byte) []byte {
			a, _ := up.Answer(offer)
			a = []byte(strings.Replace(string(a), "UDP/TLS/RTP/SAVP", "RTP/AVP", 1))
			return regexp.MustCompile(`a=(fingerprint|setup):[^\r]*\r\n`).ReplaceAll(a, nil)
		},
		command: "answer",
		reply:   "refused by policy: the upstream answered m= line 1 with plain RTP/AVP: srtpgw refuses plaintext upstream",
	},
}

// runDowngrade sends one case and returns the error-reason of the refused
// command (or fails the test if nothing was refused).
func runDowngrade(t *testing.T, d *daemon, c *ngClient, tc downgradeCase, callID string) string {
	t.Helper()
	phone, err := sim.NewPhone(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	up, err := sim.NewUpstream(sim.UpstreamConfig{Addr: loopback, Setup: "passive", Mux: true})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	offer := append([]ng.Entry{ng.E("command", ng.String("offer")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String("ft")), ng.E("sdp", ng.Bytes(phone.OfferSDP(1))),
		ng.E("supports", strs("load limit"))}, tc.offer...)
	rep, err := c.call(offer...)
	if tc.answer == nil {
		if err == nil {
			t.Fatalf("offer accepted: %q", ng.Encode(rep))
		}
		return reasonOf(rep)
	}
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	rep, err = c.call(ng.E("command", ng.String("answer")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String("ft")), ng.E("to-tag", ng.String("tt")),
		ng.E("sdp", ng.Bytes(tc.answer(up, rep.Get("sdp").Bytes()))))
	if err == nil {
		t.Fatalf("answer accepted: %q", ng.Encode(rep))
	}
	return reasonOf(rep)
}

// TestAbuseDowngradeMatrix: every way of asking for a weaker upstream leg
// over ng gets rtpengine's error reply with srtpgw's exact "refused by
// policy:" text (Kamailio fails the call rather than failing over: this is
// not a capacity problem), a control_rejected record naming the command,
// call-id and reason, srtpgw_ng_requests_total{result="refused"}, and
// leaves no call behind: once the proxy deletes the dialog (as it does for
// a failed INVITE), `list` is empty and every port is free again.
func TestAbuseDowngradeMatrix(t *testing.T) {
	d, cfg := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 26500, 26599 })
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	free0 := metric(t, d, "srtpgw_ports_free")
	for i, tc := range downgradeCases {
		t.Run(tc.name, func(t *testing.T) {
			callID := fmt.Sprintf("downgrade-%d@clinic", i)
			series := `srtpgw_ng_requests_total{command="` + tc.command + `",result="refused"}`
			before := metric(t, d, series)
			if got := runDowngrade(t, d, c, tc, callID); got != tc.reply {
				t.Fatalf("error-reason\n got %q\nwant %q", got, tc.reply)
			}
			if n := metric(t, d, series); n != before+1 {
				t.Fatalf("%s = %v, want %v", series, n, before+1)
			}
			var rec map[string]any
			for _, r := range pick(liveRecords(t, cfg.AuditLog), "control_rejected", "") {
				if r["call_id"] == callID {
					rec = r
				}
			}
			// The record's reason is the policy text, with or without the
			// "refused by policy: " prefix of the reply.
			if rec == nil || rec["command"] != tc.command ||
				strings.TrimPrefix(fmt.Sprint(rec["reason"]), relay.PolicyPrefix) != strings.TrimPrefix(tc.reply, relay.PolicyPrefix) {
				t.Fatalf("control_rejected record %v", rec)
			}
			// A refused offer leaves nothing. A refused answer leaves the
			// offered call, and its ports, until the proxy's delete or
			// --timeout (as rtpengine does); logged for the design
			// question in the hardening report.
			if tc.answer != nil {
				rep, _ := c.call(ng.E("command", ng.String("list")))
				t.Logf("before the proxy's delete: %q", ng.Encode(rep))
			}
			if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(callID)),
				ng.E("from-tag", ng.String("ft"))); err != nil {
				t.Fatalf("delete: %v", err)
			}
			rep, err := c.call(ng.E("command", ng.String("list")))
			if err != nil {
				t.Fatal(err)
			}
			if calls := rep.Get("calls").List(); len(calls) != 0 {
				t.Fatalf("calls left after the refusal: %q", ng.Encode(rep))
			}
		})
	}
	// Ports of offered-then-refused calls rest in quarantine (they were
	// advertised); free + quarantined is back to what it was.
	if free, q := metric(t, d, "srtpgw_ports_free"), metric(t, d, "srtpgw_ports_quarantined"); free+q != free0 {
		t.Fatalf("ports free %v + quarantined %v, want %v", free, q, free0)
	}
	if n := metric(t, d, "srtpgw_calls_active"); n != 0 {
		t.Fatalf("%v calls active", n)
	}
	assertHealthy(t, d, "after-downgrade@clinic")
}

// TestAbuseDowngradeSecurityRecord: each refusal in the downgrade matrix is
// a downgrade attempt, and the README promises a `security` record of kind
// policy_refused for it (besides control_rejected), with the proxy's
// address as source.
func TestAbuseDowngradeSecurityRecord(t *testing.T) {
	d, cfg := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 26600, 26699 })
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, tc := range downgradeCases {
		reason := strings.TrimPrefix(runDowngrade(t, d, c, tc, fmt.Sprintf("sec-%d@clinic", i)), relay.PolicyPrefix)
		recs := pick(liveRecords(t, cfg.AuditLog), "security", "policy_refused")
		if len(recs) != i+1 {
			t.Fatalf("%s: %d policy_refused security records after %d refusals", tc.name, len(recs), i+1)
		}
		last := recs[i]
		if !strings.Contains(fmt.Sprint(last["reason"]), reason) {
			t.Errorf("%s: security record reason %q, want %q", tc.name, last["reason"], reason)
		}
		if src, _ := last["source"].(string); !strings.HasPrefix(src, "127.0.0.1:") {
			t.Errorf("%s: security record source %q", tc.name, src)
		}
	}
}
