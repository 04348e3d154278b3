package audit

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The serialisation is hand-written so that field order, number and time
// formats are frozen by code rather than by reflection (FORMAT.md; the
// golden test pins the bytes). The hash chain covers exact line bytes, so
// "equivalent JSON" is not good enough: the same record must always
// produce the same bytes.

// tsLayout is RFC 3339 in UTC with exactly six fractional digits, so every
// timestamp is 27 bytes and sorts lexically.
const tsLayout = "2006-01-02T15:04:05.000000Z"

// Length limits for strings that come from the network or from callers.
const (
	maxText  = 256 // call-ids, tags, labels, reasons
	maxShort = 64  // names: kinds, commands, profiles, suites
)

const invalidValue = "invalid"
const redactedValue = "[redacted]"

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, `""`...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, tsLayout)
	return append(b, '"')
}

func appendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendString writes s as a JSON string. Escapes are fixed: \" \\ \n \r
// \t, other C0 controls and DEL as \u00XX, U+2028/U+2029 as \u2028/\u2029
// (so a line is also safe JavaScript), invalid UTF-8 as \ufffd. Everything
// else is copied as UTF-8.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendAddr(b []byte, a netip.AddrPort) []byte {
	if !a.IsValid() {
		return append(b, `""`...)
	}
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

// field appends `,"name":` — every record starts with seq, so all other
// fields are preceded by a comma.
func field(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// sanitize bounds a free-text value and replaces it wholesale if it looks
// like SDES key material: an a=crypto line or an inline: key parameter
// (RFC 4568 §9.1, §6.1). The typed API makes this unlikely; this is the
// backstop for a caller that forwards a peer's error text verbatim.
func sanitize(s string, n int) string {
	if containsFold(s, "a=crypto") || containsFold(s, "inline:") {
		return redactedValue
	}
	return truncate(s, n)
}

func containsFold(s, sub string) bool {
	if len(s) < len(sub) {
		return false
	}
	return strings.Contains(strings.ToLower(s), sub)
}

// name keeps identifiers (profiles, suites, kinds, commands) to a safe
// character class. Anything else becomes "invalid" rather than being
// written, because these fields are not meant to carry free text.
func name(s string, lower bool) string {
	if s == "" {
		return ""
	}
	if len(s) > maxShort {
		return invalidValue
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c >= 'A' && c <= 'Z' && !lower:
		case c == '-' && !lower:
		default:
			return invalidValue
		}
	}
	return s
}

// fingerprint accepts only the SDP fingerprint syntax of RFC 8122 §5 with
// the hash functions srtpgw allows: "sha-256 AB:CD:...".
func fingerprint(s string) string {
	if s == "" {
		return ""
	}
	hash, hexPart, ok := strings.Cut(s, " ")
	want := 0
	switch strings.ToLower(hash) {
	case "sha-256":
		want = 32
	case "sha-384":
		want = 48
	case "sha-512":
		want = 64
	}
	if !ok || want == 0 || len(hexPart) != want*3-1 {
		return invalidValue
	}
	for i := 0; i < len(hexPart); i++ {
		c := hexPart[i]
		if i%3 == 2 {
			if c != ':' {
				return invalidValue
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return invalidValue
		}
	}
	return s
}

// callRec is a Call after sanitising and redaction: exactly what is
// written. It is also what crash recovery reads back from disk, so a
// recovered call_end carries the same (already redacted) values as the
// call_start, never re-hashed.
type callRec struct {
	UID           string   `json:"uid"`
	CallID        string   `json:"call_id"`
	FromTag       string   `json:"from_tag"`
	ToTag         string   `json:"to_tag"`
	FromLabel     string   `json:"from_label"`
	ToLabel       string   `json:"to_label"`
	Phone         string   `json:"phone"`
	PhoneLocal    []string `json:"phone_local"`
	Upstream      string   `json:"upstream"`
	UpstreamLocal []string `json:"upstream_local"`
}

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func addrStrings(as []netip.AddrPort) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, addrString(a))
	}
	return out
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendCall writes the call object. Field order is frozen (FORMAT.md).
func appendCall(b []byte, c *callRec) []byte {
	b = append(b, `{"uid":`...)
	b = appendString(b, c.UID)
	b = field(b, "call_id")
	b = appendString(b, c.CallID)
	b = field(b, "from_tag")
	b = appendString(b, c.FromTag)
	b = field(b, "to_tag")
	b = appendString(b, c.ToTag)
	b = field(b, "from_label")
	b = appendString(b, c.FromLabel)
	b = field(b, "to_label")
	b = appendString(b, c.ToLabel)
	b = field(b, "phone")
	b = appendString(b, c.Phone)
	b = field(b, "phone_local")
	b = appendStrings(b, c.PhoneLocal)
	b = field(b, "upstream")
	b = appendString(b, c.Upstream)
	b = field(b, "upstream_local")
	b = appendStrings(b, c.UpstreamLocal)
	return append(b, '}')
}

// appendDirection writes {"packets":N,"bytes":N,"drops":{...}} with drop
// reasons sorted, so equal maps give equal bytes.
func appendDirection(b []byte, d *Direction) []byte {
	b = append(b, `{"packets":`...)
	b = appendUint(b, d.Packets)
	b = field(b, "bytes")
	b = appendUint(b, d.Bytes)
	b = field(b, "drops")
	b = appendCounts(b, d.Drops)
	return append(b, '}')
}

func appendCounts(b []byte, m map[string]uint64) []byte {
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k) // relay constants; not truncated so keys stay unique
		b = append(b, ':')
		b = appendUint(b, m[k])
	}
	return append(b, '}')
}

// millis converts a duration to whole milliseconds, never negative.
func millis(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	return d.Milliseconds()
}
