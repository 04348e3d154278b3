package ng

import (
	"strings"
	"testing"
)

func TestRedactSDP(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v=0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\nm=audio 1 RTP/SAVP 0\r\n",
			"v=0\r\na=crypto:[REDACTED]\r\nm=audio 1 RTP/SAVP 0\r\n"},
		{"a=ice-pwd:asd88fgpdd777uzjYhagZg\na=ice-ufrag:8hhY\n", "a=ice-pwd:[REDACTED]\na=ice-ufrag:8hhY\n"},
		{"A=CRYPTO:1 x inline:abc", "A=CRYPTO:[REDACTED]"},
		{"a=key-mgmt:mikey AQAFgM0", "a=key-mgmt:[REDACTED]"},
		{"stray inline:c2VjcmV0 here", "stray inline:[REDACTED]"},
		{"v=0\r\na=fingerprint:sha-256 AB:CD\r\n", "v=0\r\na=fingerprint:sha-256 AB:CD\r\n"}, // public, kept
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(redactSDP([]byte(tt.in))); got != tt.want {
			t.Errorf("redactSDP(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestDump(t *testing.T) {
	v := Dict(
		E("command", String("offer")),
		E("sdp", String("v=0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY\r\n")),
		E("flags", List(String("trust-address"), Int(3))),
		E("other", String("inline:KEY2")),
	)
	got := dump(v)
	want := `{"command": "offer", "sdp": "v=0\r\na=crypto:[REDACTED]\r\n", "flags": ["trust-address", 3], "other": "inline:[REDACTED]"}`
	if got != want {
		t.Fatalf("dump =\n%s\nwant\n%s", got, want)
	}
	long := dump(String(strings.Repeat("x", 10000)))
	if len(long) > maxDumpSize+20 || !strings.HasSuffix(long, "...(cut)") {
		t.Fatalf("long dump is %d bytes", len(long))
	}
}
