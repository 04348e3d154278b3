package interop

// A small bencode codec (ng-protocol.md b.1) for test harnesses. Encoding
// keeps dictionaries in the order the test wrote them, so logged requests
// read like the brief; decoding keeps dictionary keys in wire order, because
// Kamailio emits unsorted keys and the harness pins exactly what it sends.

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// MaxDepth bounds nesting so a hostile datagram cannot exhaust the stack.
const MaxDepth = 32

// KV is one dictionary entry.
type KV struct {
	Key string
	Val any
}

// Dict is a bencode dictionary that keeps the order it was written in.
type Dict []KV

// NewDict builds a Dict from alternating keys and values, the way slog takes
// attributes: NewDict("command", "ping"). It panics on an odd count or a key
// that is not a string, which is a mistake in the test, not in the peer.
func NewDict(kv ...any) Dict {
	if len(kv)%2 != 0 {
		panic("interop.NewDict: odd number of arguments")
	}
	d := make(Dict, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			panic(fmt.Sprintf("interop.NewDict: key %d is a %T, not a string", i/2, kv[i]))
		}
		d = append(d, KV{Key: k, Val: kv[i+1]})
	}
	return d
}

// Encode encodes string, []byte, int, int64, []string, []any and Dict.
func Encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeTo(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeTo(b *bytes.Buffer, v any, depth int) error {
	if depth > MaxDepth {
		return errors.New("bencode: nesting too deep")
	}
	switch x := v.(type) {
	case string:
		b.WriteString(strconv.Itoa(len(x)) + ":" + x)
	case []byte:
		b.WriteString(strconv.Itoa(len(x)) + ":")
		b.Write(x)
	case int:
		b.WriteString("i" + strconv.Itoa(x) + "e")
	case int64:
		b.WriteString("i" + strconv.FormatInt(x, 10) + "e")
	case []string:
		b.WriteByte('l')
		for _, s := range x {
			b.WriteString(strconv.Itoa(len(s)) + ":" + s)
		}
		b.WriteByte('e')
	case []any:
		b.WriteByte('l')
		for _, e := range x {
			if err := encodeTo(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('e')
	case Dict:
		b.WriteByte('d')
		for _, e := range x {
			b.WriteString(strconv.Itoa(len(e.Key)) + ":" + e.Key)
			if err := encodeTo(b, e.Val, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('e')
	default:
		return fmt.Errorf("bencode: cannot encode %T", v)
	}
	return nil
}

// Value is a decoded bencode value: exactly one field is meaningful, chosen
// by Kind. The zero Value (Kind 0) stands for a missing key.
type Value struct {
	Kind byte // 's' string, 'i' integer, 'l' list, 'd' dictionary
	Str  []byte
	Num  int64
	List []Value
	Keys []string // dictionary keys in wire order
	dict map[string]Value
}

// Get returns the value under key in a dictionary, or the zero Value.
func (v Value) Get(key string) Value { return v.dict[key] }

// Has reports whether a dictionary contains key.
func (v Value) Has(key string) bool {
	_, ok := v.dict[key]
	return ok
}

// Path follows a chain of dictionary keys.
func (v Value) Path(keys ...string) Value {
	for _, k := range keys {
		v = v.Get(k)
	}
	return v
}

// Strs returns the byte strings of a list, skipping other kinds.
func (v Value) Strs() []string {
	var out []string
	for _, e := range v.List {
		if e.Kind == 's' {
			out = append(out, string(e.Str))
		}
	}
	return out
}

// Decode decodes one complete bencode value; trailing bytes are an error.
func Decode(b []byte) (Value, error) {
	v, n, err := decodeAt(b, 0, 0)
	if err != nil {
		return Value{}, err
	}
	if n != len(b) {
		return Value{}, fmt.Errorf("bencode: %d trailing bytes", len(b)-n)
	}
	return v, nil
}

func decodeAt(b []byte, i, depth int) (Value, int, error) {
	if depth > MaxDepth {
		return Value{}, 0, errors.New("bencode: nesting too deep")
	}
	if i >= len(b) {
		return Value{}, 0, errors.New("bencode: unexpected end")
	}
	switch c := b[i]; {
	case c == 'i':
		end := bytes.IndexByte(b[i:], 'e')
		if end < 0 {
			return Value{}, 0, errors.New("bencode: unterminated integer")
		}
		n, err := strconv.ParseInt(string(b[i+1:i+end]), 10, 64)
		if err != nil {
			return Value{}, 0, fmt.Errorf("bencode: integer: %w", err)
		}
		return Value{Kind: 'i', Num: n}, i + end + 1, nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b[i:], ':')
		if colon < 0 {
			return Value{}, 0, errors.New("bencode: string without colon")
		}
		n, err := strconv.Atoi(string(b[i : i+colon]))
		start := i + colon + 1
		if err != nil || n < 0 || n > len(b)-start {
			return Value{}, 0, errors.New("bencode: bad string length")
		}
		return Value{Kind: 's', Str: b[start : start+n]}, start + n, nil
	case c == 'l' || c == 'd':
		v := Value{Kind: c}
		if c == 'd' {
			v.dict = map[string]Value{}
		}
		i++
		for i < len(b) && b[i] != 'e' {
			e, n, err := decodeAt(b, i, depth+1)
			if err != nil {
				return Value{}, 0, err
			}
			if c == 'l' {
				v.List = append(v.List, e)
				i = n
				continue
			}
			if e.Kind != 's' {
				return Value{}, 0, errors.New("bencode: dictionary key is not a string")
			}
			val, n2, err := decodeAt(b, n, depth+1)
			if err != nil {
				return Value{}, 0, err
			}
			v.Keys = append(v.Keys, string(e.Str))
			v.dict[string(e.Str)] = val
			i = n2
		}
		if i >= len(b) {
			return Value{}, 0, errors.New("bencode: unterminated list or dictionary")
		}
		return v, i + 1, nil
	default:
		return Value{}, 0, fmt.Errorf("bencode: unexpected byte %q", c)
	}
}
