package main

// What a curious or compromised SIP proxy can get out of srtpgw over ng, and
// what a local user can read on disk (A10, L2, L7, C3).

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// TestAbuseNGRepliesCarryNoKeys: a proxy that asks for everything about a
// live call (query, list, statistics and delete replies) gets
// no SRTP master key or salt of it in any common encoding, and no SDES
// key syntax.
func TestAbuseNGRepliesCarryNoKeys(t *testing.T) {
	d, _ := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 29700, 29799 })
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var replies bytes.Buffer
	rec := func(v ng.Value, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		replies.Write(ng.Encode(v))
	}
	const id = "keys-over-ng@clinic"
	sc, err := setupCall(c, id)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := mediaBothWays(sc, 3); err != nil {
		t.Fatal(err)
	}
	rec(c.call(ng.E("command", ng.String("query")), ng.E("call-id", ng.String(id))))
	rec(c.call(ng.E("command", ng.String("list"))))
	rec(c.call(ng.E("command", ng.String("statistics"))))
	rec(c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(id))))
	keys := sc.up.KeyMaterial()
	if len(keys) < 4 || !bytes.Contains(replies.Bytes(), []byte("crypto suite")) {
		t.Fatalf("nothing to search: %d key parts, replies %q", len(keys), replies.String())
	}
	for i, k := range keys {
		for _, enc := range encodings(k) {
			if bytes.Contains(replies.Bytes(), []byte(enc)) {
				t.Fatalf("key part %d in an ng reply as %q", i, enc)
			}
		}
	}
	if bytes.Contains(replies.Bytes(), []byte("inline:")) || bytes.Contains(replies.Bytes(), []byte("a=crypto")) {
		t.Fatal("SDES key syntax in an ng reply")
	}
}

// TestAbuseDisabledCommandsAudited: commands that would copy media out of
// a call or inject into it, and remote administration, are refused with
// the reason, counted as refused, and each leaves a control_rejected record
// naming the command and the client.
func TestAbuseDisabledCommandsAudited(t *testing.T) {
	d, cfg := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 29800, 29899 })
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ command, reason string }{
		{"start recording", "start recording is disabled by policy: srtpgw never copies or injects media"},
		{"start forwarding", "start forwarding is disabled by policy: srtpgw never copies or injects media"},
		{"play media", "play media is disabled by policy: srtpgw never copies or injects media"},
		{"subscribe request", "subscribe request is disabled by policy: srtpgw never copies or injects media"},
		{"cli", "cli is disabled by policy: srtpgw takes no administrative commands over ng"},
	} {
		series := `srtpgw_ng_requests_total{command="` + tc.command + `",result="refused"}`
		rep, err := c.call(ng.E("command", ng.String(tc.command)), ng.E("call-id", ng.String("victim@clinic")))
		if err == nil || reasonOf(rep) != tc.reason {
			t.Fatalf("%s: %q, %v; want the error %q", tc.command, ng.Encode(rep), err, tc.reason)
		}
		if n := metric(t, d, series); n != 1 {
			t.Fatalf("%s = %v", series, n)
		}
		found := false
		for _, r := range pick(liveRecords(t, cfg.AuditLog), "control_rejected", "") {
			if r["command"] == tc.command && r["call_id"] == "victim@clinic" && strings.HasPrefix(r["from"].(string), "127.0.0.1:") &&
				strings.Contains(tc.reason, r["reason"].(string)) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: no control_rejected record", tc.command)
		}
	}
	assertHealthy(t, d, "after-disabled@clinic")
}

// TestAbuseCallLogPermissions: the call log holds the parties of every call
// (PHI) and the signing key proves it untampered, so neither may be
// readable by other local users: a missing log directory is created 0700,
// the log and the keys are 0600, whatever the umask leaves.
func TestAbuseCallLogPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "srtpgw")
	d, cfg := startTestDaemon(t, func(c *Config) {
		c.AuditLog = filepath.Join(dir, "audit.jsonl")
		c.AuditRedact = true
		c.PortMin, c.PortMax = 29900, 29999
	})
	placeDemoCall(t, ngAddrOf(d), "perm@clinic")
	for path, want := range map[string]os.FileMode{
		dir:                                    0o700,
		cfg.AuditLog:                           0o600,
		filepath.Join(dir, "audit.key"):        0o600,
		filepath.Join(dir, "audit-redact.key"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s: mode %04o, want at most %04o", filepath.Base(path), got, want)
		}
	}
}
