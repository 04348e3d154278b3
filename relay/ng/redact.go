package ng

import (
	"bytes"
	"strconv"
	"strings"
)

// Request and reply dumps go to the Debug log. SDP can carry SRTP master
// keys (a=crypto ... inline:<key>, RFC 4568 §6.1) and ICE passwords
// (a=ice-pwd, RFC 8839 §5.4); neither may reach a log (DESIGN §4,
// security-requirements A10, L2). dump replaces them in every string of
// the value, not only under `sdp`, because a client may put SDP anywhere.

const (
	redacted    = "[REDACTED]"
	maxDumpSize = 4096 // a dump longer than this is cut; it is for humans
)

// sensitiveAttrs are the SDP attribute prefixes whose whole value is
// replaced.
var sensitiveAttrs = [][]byte{[]byte("a=crypto:"), []byte("a=ice-pwd:"), []byte("a=key-mgmt:")}

// redactSDP returns s with the values of sensitive attributes replaced,
// and any stray SDES "inline:" key parameter too.
func redactSDP(s []byte) []byte {
	if !bytes.Contains(s, []byte("a=")) && !bytes.Contains(s, []byte("inline:")) {
		return s
	}
	var out []byte
	for len(s) > 0 {
		line := s
		var eol []byte
		if i := bytes.IndexByte(s, '\n'); i >= 0 {
			line, eol, s = s[:i], s[i:i+1], s[i+1:]
		} else {
			s = nil
		}
		out = append(out, redactLine(line)...)
		out = append(out, eol...)
	}
	return out
}

func redactLine(line []byte) []byte {
	trimmed := bytes.TrimLeft(line, " \t")
	for _, p := range sensitiveAttrs {
		if len(trimmed) >= len(p) && bytes.EqualFold(trimmed[:len(p)], p) {
			cr := bytes.HasSuffix(line, []byte("\r"))
			l := append([]byte{}, line[:len(line)-len(trimmed)+len(p)]...)
			l = append(l, redacted...)
			if cr {
				l = append(l, '\r')
			}
			return l
		}
	}
	if i := bytes.Index(line, []byte("inline:")); i >= 0 {
		l := append([]byte{}, line[:i+len("inline:")]...)
		return append(l, redacted...)
	}
	return line
}

// dump renders v for a log line, redacted and bounded.
func dump(v Value) string {
	var b strings.Builder
	dumpTo(&b, v)
	if b.Len() > maxDumpSize {
		return b.String()[:maxDumpSize] + "...(cut)"
	}
	return b.String()
}

func dumpTo(b *strings.Builder, v Value) {
	if b.Len() > maxDumpSize {
		return
	}
	switch v.Kind() {
	case KindInt:
		n, _ := v.Int()
		b.WriteString(strconv.FormatInt(n, 10))
	case KindList:
		b.WriteByte('[')
		for i, it := range v.List() {
			if i > 0 {
				b.WriteString(", ")
			}
			dumpTo(b, it)
		}
		b.WriteByte(']')
	case KindDict:
		b.WriteByte('{')
		for i, e := range v.Entries() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(e.Key))
			b.WriteString(": ")
			dumpTo(b, e.Value)
		}
		b.WriteByte('}')
	default:
		b.WriteString(strconv.Quote(string(redactSDP(v.Bytes()))))
	}
}
