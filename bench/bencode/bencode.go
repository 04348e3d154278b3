// Package bencode is the small bencode codec the benchmark tools speak ng
// with. It is deliberately separate from relay/ng so that the load
// generator and the bare forwarder stay independent of the relay under
// test: a bug shared by both ends of a measurement would hide itself.
//
// Values map to Go as: byte string -> string, integer -> int64,
// list -> []any, dictionary -> map[string]any. The encoder also accepts
// []byte, int, []string and map[string]string for convenience.
package bencode

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// MaxDepth bounds nesting so a hostile reply cannot exhaust the stack.
const MaxDepth = 32

// ErrSyntax is wrapped by every decoding error.
var ErrSyntax = errors.New("bencode: syntax error")

// Append encodes v onto dst. Dictionary keys are written sorted, as the
// bencode spec asks (ng servers accept any order, but sorted output is
// deterministic and so testable).
func Append(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		dst = append(dst, ':')
		return append(dst, x...), nil
	case []byte:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		dst = append(dst, ':')
		return append(dst, x...), nil
	case int:
		return appendInt(dst, int64(x)), nil
	case int64:
		return appendInt(dst, x), nil
	case []string:
		dst = append(dst, 'l')
		for _, s := range x {
			dst, _ = Append(dst, s)
		}
		return append(dst, 'e'), nil
	case []any:
		dst = append(dst, 'l')
		for _, e := range x {
			var err error
			if dst, err = Append(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, 'e'), nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return Append(dst, m)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, 'd')
		for _, k := range keys {
			dst, _ = Append(dst, k)
			var err error
			if dst, err = Append(dst, x[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, 'e'), nil
	default:
		return dst, fmt.Errorf("bencode: cannot encode %T", v)
	}
}

func appendInt(dst []byte, i int64) []byte {
	dst = append(dst, 'i')
	dst = strconv.AppendInt(dst, i, 10)
	return append(dst, 'e')
}

// Decode parses exactly one value from b; trailing bytes are an error.
func Decode(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.i != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrSyntax, len(b)-d.i)
	}
	return v, nil
}

// DecodeDict is Decode for the common case of a top-level dictionary.
func DecodeDict(b []byte) (map[string]any, error) {
	v, err := Decode(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: top level is %T, not a dictionary", ErrSyntax, v)
	}
	return m, nil
}

type decoder struct {
	b []byte
	i int
}

func (d *decoder) errf(format string, a ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, d.i, fmt.Sprintf(format, a...))
}

func (d *decoder) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, d.errf("nesting deeper than %d", MaxDepth)
	}
	if d.i >= len(d.b) {
		return nil, d.errf("unexpected end")
	}
	switch c := d.b[d.i]; {
	case c == 'i':
		return d.integer()
	case c == 'l':
		d.i++
		list := []any{}
		for {
			if d.i >= len(d.b) {
				return nil, d.errf("unterminated list")
			}
			if d.b[d.i] == 'e' {
				d.i++
				return list, nil
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
	case c == 'd':
		d.i++
		dict := map[string]any{}
		for {
			if d.i >= len(d.b) {
				return nil, d.errf("unterminated dictionary")
			}
			if d.b[d.i] == 'e' {
				d.i++
				return dict, nil
			}
			// ng peers do not sort keys (rtpengine's docs say so), so
			// order is not checked; a key must still be a byte string.
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			dict[k] = v
		}
	case c >= '0' && c <= '9':
		return d.str()
	default:
		return nil, d.errf("unexpected byte %q", c)
	}
}

func (d *decoder) integer() (int64, error) {
	d.i++ // 'i'
	start := d.i
	for d.i < len(d.b) && d.b[d.i] != 'e' {
		d.i++
	}
	if d.i >= len(d.b) {
		return 0, d.errf("unterminated integer")
	}
	s := string(d.b[start:d.i])
	d.i++
	// The spec forbids leading zeros and "-0"; strconv alone accepts them.
	if s == "" || s == "-0" || (len(s) > 1 && s[0] == '0') || (len(s) > 2 && s[0] == '-' && s[1] == '0') {
		return 0, d.errf("bad integer %q", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, d.errf("bad integer %q", s)
	}
	return n, nil
}

func (d *decoder) str() (string, error) {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i >= len(d.b) || d.b[d.i] != ':' || d.i == start {
		return "", d.errf("bad string length")
	}
	if d.i-start > 1 && d.b[start] == '0' {
		return "", d.errf("leading zero in string length")
	}
	n, err := strconv.Atoi(string(d.b[start:d.i]))
	if err != nil || n > len(d.b)-d.i-1 {
		return "", d.errf("string length %q past end", d.b[start:d.i])
	}
	d.i++ // ':'
	s := string(d.b[d.i : d.i+n])
	d.i += n
	return s, nil
}

// String returns the string at key in m, or "" when absent or not a string.
func String(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// Strings returns the list of strings at key; a lone string is a list of one
// (ng accepts both shapes for flag lists).
func Strings(m map[string]any, key string) []string {
	switch v := m[key].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
