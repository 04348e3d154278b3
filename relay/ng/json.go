package ng

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// rtpengine 10.5 also accepts a JSON object where the bencode dictionary
// would be, and answers in JSON (ng-protocol.md b.1). JSON is mapped onto
// the same Value type so that one parser handles both: strings become
// byte strings, integral numbers integers, true/false 1/0, null an empty
// string. Object key order is kept, as for bencode, and the same Limits
// apply.

// DecodeJSON parses one JSON value with DefaultLimits.
func DecodeJSON(b []byte) (Value, error) { return DecodeJSONLimits(b, DefaultLimits) }

// DecodeJSONLimits is DecodeJSON with explicit limits.
func DecodeJSONLimits(b []byte, lim Limits) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	jd := jsonDecoder{dec: dec, lim: lim}
	v, err := jd.value(1)
	if err != nil {
		return Value{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Value{}, &SyntaxError{Offset: int(dec.InputOffset()), Reason: "trailing data after JSON value"}
	}
	return v, nil
}

type jsonDecoder struct {
	dec   *json.Decoder
	lim   Limits
	items int
}

// jsonErr reports a decoder error without echoing input (encoding/json's
// messages can quote offending content).
func (j *jsonDecoder) jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return &SyntaxError{Offset: int(j.dec.InputOffset()), Reason: "invalid JSON"}
}

func (j *jsonDecoder) value(depth int) (Value, error) {
	at := int(j.dec.InputOffset())
	tok, err := j.dec.Token()
	if err != nil {
		return Value{}, j.jsonErr(err)
	}
	j.items++
	if j.items > j.lim.MaxItems {
		return Value{}, &LimitError{Offset: at, What: "items", Max: j.lim.MaxItems}
	}
	switch t := tok.(type) {
	case string:
		return String(t), nil
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return Int(n), nil
		}
		// Fractions and huge numbers are kept as text; no ng key srtpgw
		// reads takes one, and unknown keys are ignored.
		return String(string(t)), nil
	case bool:
		if t {
			return Int(1), nil
		}
		return Int(0), nil
	case nil:
		return String(""), nil
	case json.Delim:
		if depth > j.lim.MaxDepth {
			return Value{}, &LimitError{Offset: at, What: "nesting depth", Max: j.lim.MaxDepth}
		}
		if t == '[' {
			return j.list(depth)
		}
		if t == '{' {
			return j.object(depth)
		}
	}
	return Value{}, &SyntaxError{Offset: at, Reason: "unexpected JSON token"}
}

func (j *jsonDecoder) list(depth int) (Value, error) {
	items := []Value{}
	for j.dec.More() {
		if len(items) == j.lim.MaxListLen {
			return Value{}, &LimitError{Offset: int(j.dec.InputOffset()), What: "list length", Max: j.lim.MaxListLen}
		}
		v, err := j.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		items = append(items, v)
	}
	if _, err := j.dec.Token(); err != nil { // ']'
		return Value{}, j.jsonErr(err)
	}
	return List(items...), nil
}

func (j *jsonDecoder) object(depth int) (Value, error) {
	entries := []Entry{}
	for j.dec.More() {
		at := int(j.dec.InputOffset())
		if len(entries) == j.lim.MaxDictKeys {
			return Value{}, &LimitError{Offset: at, What: "dictionary keys", Max: j.lim.MaxDictKeys}
		}
		tok, err := j.dec.Token()
		if err != nil {
			return Value{}, j.jsonErr(err)
		}
		k, ok := tok.(string)
		if !ok {
			return Value{}, &SyntaxError{Offset: at, Reason: "object key is not a string"}
		}
		for i := range entries {
			if entries[i].Key == k {
				return Value{}, &SyntaxError{Offset: at, Reason: "duplicate object key"}
			}
		}
		v, err := j.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		entries = append(entries, Entry{Key: k, Value: v})
	}
	if _, err := j.dec.Token(); err != nil { // '}'
		return Value{}, j.jsonErr(err)
	}
	return Dict(entries...), nil
}

// EncodeJSON returns the compact JSON form of v, keys in the Value's order.
func EncodeJSON(v Value) []byte { return AppendEncodeJSON(nil, v) }

// AppendEncodeJSON appends the JSON form of v to dst.
func AppendEncodeJSON(dst []byte, v Value) []byte {
	switch v.kind {
	case KindInt:
		return strconv.AppendInt(dst, v.num, 10)
	case KindList:
		dst = append(dst, '[')
		for i, it := range v.list {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendEncodeJSON(dst, it)
		}
		return append(dst, ']')
	case KindDict:
		dst = append(dst, '{')
		for i, e := range v.dict {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, e.Key)
			dst = append(dst, ':')
			dst = AppendEncodeJSON(dst, e.Value)
		}
		return append(dst, '}')
	}
	return appendJSONString(dst, string(v.str))
}

// appendJSONString quotes s per RFC 8259 §7. Bytes that are not UTF-8
// become U+FFFD: JSON cannot carry them.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = fmt.Appendf(dst, `\u%04x`, c)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, string(utf8.RuneError)...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
