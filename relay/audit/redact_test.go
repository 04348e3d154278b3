package audit

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedaction(t *testing.T) {
	e := newEnv(t)
	e.cfg.RedactKeyPath = filepath.Join(e.dir, "redact.key")
	l := e.open()
	c := testCall(1)
	c.CallID = "9f1e2d3c-secret-callid@10.0.0.5"
	c.FromTag = "fromtag-8c1f"
	c.ToTag = "totag-77aa"
	mustNil(t, l.CallStart(c))
	mustNil(t, l.DTLSFailed(c, "timeout"))
	mustNil(t, l.CallEnd(c, CallEnd{Reason: "delete"}))
	mustNil(t, l.ControlRejected(netip.MustParseAddrPort("127.0.0.1:5000"), "offer", c.CallID, "Unknown call-id"))
	c2 := testCall(2)
	c2.ToTag = ""
	mustNil(t, l.CallStart(c2))
	mustNil(t, l.Shutdown("test"))

	data, err := os.ReadFile(e.cfg.Path)
	mustNil(t, err)
	for _, raw := range []string{c.CallID, c.FromTag, c.ToTag, testCall(2).CallID, testCall(2).FromTag} {
		if strings.Contains(string(data), raw) {
			t.Errorf("raw value %q is in the redacted log", raw)
		}
	}
	key, err := LoadRedactKey(e.cfg.RedactKeyPath)
	mustNil(t, err)
	token := Redact(key, c.CallID)
	// An auditor with the key finds the call: every record of it, and the
	// rejected command, carry the same token.
	if n := strings.Count(string(data), `"`+token+`"`); n != 4 {
		t.Errorf("call-id token appears %d times, want 4", n)
	}
	if !strings.HasPrefix(token, "hmac-sha256:") || len(token) != len("hmac-sha256:")+32 {
		t.Errorf("token %q", token)
	}
	if !strings.Contains(string(data), `"redacted":true`) || !strings.Contains(string(data), `"to_tag":""`) {
		t.Error("log_open redacted flag or empty to_tag missing")
	}
	fi, err := os.Stat(e.cfg.RedactKeyPath)
	mustNil(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("redact key mode %o", fi.Mode().Perm())
	}
	e.mustVerify()
}

func TestRedactFunction(t *testing.T) {
	k1, k2 := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	tests := []struct {
		name string
		a, b string
		ka   []byte
		kb   []byte
		same bool
	}{
		{"same input same key", "call-1", "call-1", k1, k1, true},
		{"different input", "call-1", "call-2", k1, k1, false},
		{"different key", "call-1", "call-1", k1, k2, false},
	}
	for _, tc := range tests {
		if got := Redact(tc.ka, tc.a) == Redact(tc.kb, tc.b); got != tc.same {
			t.Errorf("%s: equal=%v", tc.name, got)
		}
	}
}
