package ng

import (
	"errors"
	"fmt"
	"strconv"
)

// Bencode (BEP 3) as ng uses it: byte strings "<len>:<bytes>", integers
// "i<n>e", lists "l...e" and dictionaries "d...e" whose keys are byte
// strings. The decoder is strict about the canonical form of each item (no
// leading zeros, no "-0") so that any message it accepts re-encodes to the
// same bytes, but it accepts dictionaries in any key order (rtpengine does
// not honour the sorted-key rule and Kamailio relies on that, ng-protocol.md
// b.1). Duplicate keys are refused: two values for one key would make the
// meaning of a request depend on which one a reader picks.
//
// Every decode is bounded (Limits) so that hostile input costs at most a
// linear scan and a bounded allocation, and no input panics (fuzzed by
// FuzzBencode).

// Limits bounds the work and memory one decode may use.
type Limits struct {
	MaxDepth    int // nesting of lists/dicts; the top-level dict is depth 1
	MaxDictKeys int // entries in one dictionary
	MaxListLen  int // items in one list
	MaxItems    int // values in the whole message
}

// DefaultLimits fit any request Kamailio or OpenSIPS sends (about 20 keys,
// flat lists, depth 2-3) with a wide margin.
var DefaultLimits = Limits{MaxDepth: 32, MaxDictKeys: 256, MaxListLen: 1024, MaxItems: 8192}

// ErrTruncated reports input that ended inside a value. A stream reader
// (ServeTCP) treats it as "read more"; everyone else as malformed.
var ErrTruncated = errors.New("bencode: unexpected end of input")

// SyntaxError is malformed bencode. It names the offset, never the content:
// the content may be an SDP with key material in it.
type SyntaxError struct {
	Offset int
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bencode: %s at offset %d", e.Reason, e.Offset)
}

// LimitError is well-formed input that exceeds a Limits bound.
type LimitError struct {
	Offset int
	What   string // "nesting depth", "dictionary keys", "list length", "items"
	Max    int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("bencode: %s over %d at offset %d", e.What, e.Max, e.Offset)
}

// Decode parses one complete bencode value with DefaultLimits. Trailing
// bytes are an error.
func Decode(b []byte) (Value, error) { return DecodeLimits(b, DefaultLimits) }

// DecodeLimits is Decode with explicit limits.
func DecodeLimits(b []byte, lim Limits) (Value, error) {
	v, n, err := decodePrefix(b, lim)
	if err != nil {
		return Value{}, err
	}
	if n != len(b) {
		return Value{}, &SyntaxError{Offset: n, Reason: "trailing data after value"}
	}
	return v, nil
}

// decodePrefix parses the value at the start of b and returns how many
// bytes it used; bytes after it are left alone (TCP framing).
func decodePrefix(b []byte, lim Limits) (Value, int, error) {
	d := decoder{buf: b, lim: lim}
	v, err := d.value(1)
	if err != nil {
		return Value{}, 0, err
	}
	return v, d.pos, nil
}

type decoder struct {
	buf   []byte
	pos   int
	lim   Limits
	items int
}

func (d *decoder) syntax(reason string) error { return &SyntaxError{Offset: d.pos, Reason: reason} }

func (d *decoder) value(depth int) (Value, error) {
	if d.pos >= len(d.buf) {
		return Value{}, ErrTruncated
	}
	d.items++
	if d.items > d.lim.MaxItems {
		return Value{}, &LimitError{Offset: d.pos, What: "items", Max: d.lim.MaxItems}
	}
	switch c := d.buf[d.pos]; {
	case c >= '0' && c <= '9':
		s, err := d.bytes()
		return Value{kind: KindString, str: s}, err
	case c == 'i':
		n, err := d.integer()
		return Value{kind: KindInt, num: n}, err
	case c == 'l', c == 'd':
		if depth > d.lim.MaxDepth {
			return Value{}, &LimitError{Offset: d.pos, What: "nesting depth", Max: d.lim.MaxDepth}
		}
		if c == 'l' {
			return d.listValue(depth)
		}
		return d.dictValue(depth)
	}
	return Value{}, d.syntax("unexpected byte")
}

// digits scans an unsigned decimal number in canonical form (no leading
// zero unless the number is 0) of at most maxDigits digits.
func (d *decoder) digits(maxDigits int) (uint64, error) {
	start := d.pos
	var n uint64
	for d.pos < len(d.buf) && d.buf[d.pos] >= '0' && d.buf[d.pos] <= '9' {
		if d.pos-start == maxDigits {
			return 0, d.syntax("number too long")
		}
		n = n*10 + uint64(d.buf[d.pos]-'0')
		d.pos++
	}
	switch {
	case d.pos == len(d.buf):
		return 0, ErrTruncated
	case d.pos == start:
		return 0, d.syntax("expected digits")
	case d.buf[start] == '0' && d.pos-start > 1:
		return 0, &SyntaxError{Offset: start, Reason: "leading zero"}
	}
	return n, nil
}

func (d *decoder) bytes() ([]byte, error) {
	// A length beyond the buffer is truncation whatever its size; 10
	// digits keeps the arithmetic far from overflow.
	n, err := d.digits(10)
	if err != nil {
		return nil, err
	}
	if d.buf[d.pos] != ':' {
		return nil, d.syntax("expected ':' after string length")
	}
	d.pos++
	if n > uint64(len(d.buf)-d.pos) {
		return nil, ErrTruncated
	}
	s := d.buf[d.pos : d.pos+int(n) : d.pos+int(n)]
	d.pos += int(n)
	return s, nil
}

func (d *decoder) integer() (int64, error) {
	d.pos++ // 'i'
	if d.pos >= len(d.buf) {
		return 0, ErrTruncated
	}
	neg := d.buf[d.pos] == '-'
	if neg {
		d.pos++
	}
	start := d.pos
	n, err := d.digits(19)
	if err != nil {
		return 0, err
	}
	if d.buf[d.pos] != 'e' {
		return 0, d.syntax("expected 'e' after integer")
	}
	switch {
	case neg && n == 0:
		return 0, &SyntaxError{Offset: start, Reason: "negative zero"}
	case neg && n > 1<<63:
		return 0, &SyntaxError{Offset: start, Reason: "integer out of range"}
	case !neg && n > 1<<63-1:
		return 0, &SyntaxError{Offset: start, Reason: "integer out of range"}
	}
	d.pos++
	if neg {
		return int64(-n), nil // -(1<<63) wraps to itself, which is right
	}
	return int64(n), nil
}

func (d *decoder) listValue(depth int) (Value, error) {
	d.pos++ // 'l'
	items := []Value{}
	for {
		if d.pos >= len(d.buf) {
			return Value{}, ErrTruncated
		}
		if d.buf[d.pos] == 'e' {
			d.pos++
			return Value{kind: KindList, list: items}, nil
		}
		if len(items) == d.lim.MaxListLen {
			return Value{}, &LimitError{Offset: d.pos, What: "list length", Max: d.lim.MaxListLen}
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		items = append(items, v)
	}
}

func (d *decoder) dictValue(depth int) (Value, error) {
	d.pos++ // 'd'
	entries := []Entry{}
	for {
		if d.pos >= len(d.buf) {
			return Value{}, ErrTruncated
		}
		if d.buf[d.pos] == 'e' {
			d.pos++
			return Value{kind: KindDict, dict: entries}, nil
		}
		if len(entries) == d.lim.MaxDictKeys {
			return Value{}, &LimitError{Offset: d.pos, What: "dictionary keys", Max: d.lim.MaxDictKeys}
		}
		if c := d.buf[d.pos]; c < '0' || c > '9' {
			return Value{}, d.syntax("dictionary key is not a string")
		}
		keyAt := d.pos
		k, err := d.bytes()
		if err != nil {
			return Value{}, err
		}
		for i := range entries {
			if entries[i].Key == string(k) {
				return Value{}, &SyntaxError{Offset: keyAt, Reason: "duplicate dictionary key"}
			}
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		entries = append(entries, Entry{Key: string(k), Value: v})
	}
}

// Encode returns the bencode form of v. Dictionary keys come out in the
// Value's order, which makes the output deterministic for a given Value.
func Encode(v Value) []byte { return AppendEncode(nil, v) }

// AppendEncode appends the bencode form of v to dst. The zero Value
// encodes as an empty string so that the output is always well formed.
func AppendEncode(dst []byte, v Value) []byte {
	switch v.kind {
	case KindInt:
		dst = append(dst, 'i')
		dst = strconv.AppendInt(dst, v.num, 10)
		return append(dst, 'e')
	case KindList:
		dst = append(dst, 'l')
		for _, it := range v.list {
			dst = AppendEncode(dst, it)
		}
		return append(dst, 'e')
	case KindDict:
		dst = append(dst, 'd')
		for _, e := range v.dict {
			dst = appendBytes(dst, e.Key)
			dst = AppendEncode(dst, e.Value)
		}
		return append(dst, 'e')
	}
	return appendBytes(dst, string(v.str))
}

func appendBytes(dst []byte, s string) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...)
}
