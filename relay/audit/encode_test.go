package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\s`, `"q\"b\\s"`},
		{"nl\ncr\rtab\t", `"nl\ncr\rtab\t"`},
		{"\x00\x1f\x7f", `"\u0000\u001f\u007f"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"é€😀", `"é€😀"`},
		{"<html>&", `"<html>&"`},
	}
	for _, tc := range tests {
		if got := string(appendString(nil, tc.in)); got != tc.want {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzAppendString: every string encodes to valid JSON that decodes back
// to the input (with invalid UTF-8 replaced), on one line.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\n\u2028", "\xff\xfe", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		if strings.ContainsAny(string(b), "\n\r") || !utf8.Valid(b) {
			t.Fatalf("encoding of %q is not one valid UTF-8 line: %s", s, b)
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("encoding of %q is not JSON: %v", s, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); utf8.ValidString(s) && back != want {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	})
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		name, in, want string
	}{
		{"plain", "handshake timeout", "handshake timeout"},
		{"a=crypto line", "peer said a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", redactedValue},
		{"inline key param", "bad INLINE:abc", redactedValue},
		{"long text cut on a rune boundary", long, strings.Repeat("é", 128)},
	}
	for _, tc := range tests {
		if got := sanitize(tc.in, maxText); got != tc.want {
			t.Errorf("%s: got %q", tc.name, got)
		}
	}
}

func TestNameAndFingerprint(t *testing.T) {
	fp256 := "sha-256 " + strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	tests := []struct {
		name, got, want string
	}{
		{"profile", name("SRTP_AEAD_AES_128_GCM", false), "SRTP_AEAD_AES_128_GCM"},
		{"profile with key bytes", name("SRTP_AES128 inline:xyz", false), invalidValue},
		{"lower kind", name("replay_burst", true), "replay_burst"},
		{"upper in lower-only", name("Replay", true), invalidValue},
		{"too long", name(strings.Repeat("a", 65), true), invalidValue},
		{"sha-256 fingerprint", fingerprint(fp256), fp256},
		{"sha-1 refused", fingerprint("sha-1 " + strings.TrimSuffix(strings.Repeat("AB:", 20), ":")), invalidValue},
		{"bad separator", fingerprint(strings.Replace(fp256, ":", "-", 1)), invalidValue},
		{"short", fingerprint("sha-256 AB:CD"), invalidValue},
		{"empty", fingerprint(""), ""},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestAppendTimeFixedWidth(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), `"2025-01-02T03:04:05.000000Z"`},
		{time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)), `"2025-01-02T02:04:05.123456Z"`},
		{time.Time{}, `""`},
	}
	for _, tc := range tests {
		if got := string(appendTime(nil, tc.in)); got != tc.want {
			t.Errorf("appendTime(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
