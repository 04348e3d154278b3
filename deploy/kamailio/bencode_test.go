package kamailio

// A small bencode codec for the interop harness: enough to send an ng ping,
// and to decode captured ng datagrams while keeping dictionary key order,
// because Kamailio emits unsorted keys (ng-protocol.md b.1) and the harness
// documents exactly what it sends. It is test code, not srtpgw's codec
// (relay/ng owns that).

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"
)

// bvalue is a decoded bencode value: exactly one field is meaningful,
// chosen by kind.
type bvalue struct {
	kind byte // 's' string, 'i' integer, 'l' list, 'd' dictionary
	str  []byte
	num  int64
	list []bvalue
	keys []string // dictionary keys in wire order
	dict map[string]bvalue
}

// get returns the value under key in a dictionary, or the zero bvalue.
func (v bvalue) get(key string) bvalue { return v.dict[key] }

// has reports whether a dictionary contains key.
func (v bvalue) has(key string) bool {
	_, ok := v.dict[key]
	return ok
}

// strs returns the byte strings of a list, skipping other kinds.
func (v bvalue) strs() []string {
	var out []string
	for _, e := range v.list {
		if e.kind == 's' {
			out = append(out, string(e.str))
		}
	}
	return out
}

// maxBencodeDepth bounds nesting so a hostile datagram cannot exhaust the stack.
const maxBencodeDepth = 32

// bdecode decodes one complete bencode value; trailing bytes are an error.
func bdecode(b []byte) (bvalue, error) {
	v, n, err := bdecodeAt(b, 0, 0)
	if err != nil {
		return bvalue{}, err
	}
	if n != len(b) {
		return bvalue{}, fmt.Errorf("bencode: %d trailing bytes", len(b)-n)
	}
	return v, nil
}

func bdecodeAt(b []byte, i, depth int) (bvalue, int, error) {
	if depth > maxBencodeDepth {
		return bvalue{}, 0, errors.New("bencode: nesting too deep")
	}
	if i >= len(b) {
		return bvalue{}, 0, errors.New("bencode: unexpected end")
	}
	switch c := b[i]; {
	case c == 'i':
		end := bytes.IndexByte(b[i:], 'e')
		if end < 0 {
			return bvalue{}, 0, errors.New("bencode: unterminated integer")
		}
		n, err := strconv.ParseInt(string(b[i+1:i+end]), 10, 64)
		if err != nil {
			return bvalue{}, 0, fmt.Errorf("bencode: integer: %w", err)
		}
		return bvalue{kind: 'i', num: n}, i + end + 1, nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b[i:], ':')
		if colon < 0 {
			return bvalue{}, 0, errors.New("bencode: string without colon")
		}
		n, err := strconv.Atoi(string(b[i : i+colon]))
		start := i + colon + 1
		if err != nil || n < 0 || n > len(b)-start {
			return bvalue{}, 0, errors.New("bencode: bad string length")
		}
		return bvalue{kind: 's', str: b[start : start+n]}, start + n, nil
	case c == 'l':
		v := bvalue{kind: 'l'}
		i++
		for i < len(b) && b[i] != 'e' {
			e, n, err := bdecodeAt(b, i, depth+1)
			if err != nil {
				return bvalue{}, 0, err
			}
			v.list = append(v.list, e)
			i = n
		}
		if i >= len(b) {
			return bvalue{}, 0, errors.New("bencode: unterminated list")
		}
		return v, i + 1, nil
	case c == 'd':
		v := bvalue{kind: 'd', dict: map[string]bvalue{}}
		i++
		for i < len(b) && b[i] != 'e' {
			k, n, err := bdecodeAt(b, i, depth+1)
			if err != nil {
				return bvalue{}, 0, err
			}
			if k.kind != 's' {
				return bvalue{}, 0, errors.New("bencode: dictionary key is not a string")
			}
			e, n2, err := bdecodeAt(b, n, depth+1)
			if err != nil {
				return bvalue{}, 0, err
			}
			v.keys = append(v.keys, string(k.str))
			v.dict[string(k.str)] = e
			i = n2
		}
		if i >= len(b) {
			return bvalue{}, 0, errors.New("bencode: unterminated dictionary")
		}
		return v, i + 1, nil
	default:
		return bvalue{}, 0, fmt.Errorf("bencode: unexpected byte %q", c)
	}
}

// splitNG splits an ng datagram "<cookie> <bencode>" (ng-protocol.md b.1).
func splitNG(dgram []byte) (cookie string, body []byte, err error) {
	sp := bytes.IndexByte(dgram, ' ')
	if sp <= 0 {
		return "", nil, errors.New("ng: no cookie")
	}
	return string(dgram[:sp]), dgram[sp+1:], nil
}

// decodeNG splits and decodes an ng datagram whose body must be a dictionary.
func decodeNG(dgram []byte) (string, bvalue, error) {
	cookie, body, err := splitNG(dgram)
	if err != nil {
		return "", bvalue{}, err
	}
	v, err := bdecode(body)
	if err != nil {
		return "", bvalue{}, err
	}
	if v.kind != 'd' {
		return "", bvalue{}, errors.New("ng: body is not a dictionary")
	}
	return cookie, v, nil
}

func TestBdecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, v bvalue)
	}{
		{name: "ping", in: "d7:command4:pinge", check: func(t *testing.T, v bvalue) {
			if got := string(v.get("command").str); got != "ping" {
				t.Errorf("command = %q", got)
			}
		}},
		{name: "unsorted keys kept in wire order", in: "d1:bi1e1:al1:x1:yee", check: func(t *testing.T, v bvalue) {
			if len(v.keys) != 2 || v.keys[0] != "b" || v.keys[1] != "a" {
				t.Errorf("keys = %v, want [b a]", v.keys)
			}
			if v.get("b").kind != 'i' || v.get("b").num != 1 {
				t.Errorf("b = %+v", v.get("b"))
			}
			if got := v.get("a").strs(); len(got) != 2 || got[1] != "y" {
				t.Errorf("a = %v", got)
			}
		}},
		{name: "binary string with CRLF", in: "4:a\r\nb", check: func(t *testing.T, v bvalue) {
			if string(v.str) != "a\r\nb" {
				t.Errorf("str = %q", v.str)
			}
		}},
		{name: "negative integer", in: "i-42e", check: func(t *testing.T, v bvalue) {
			if v.num != -42 {
				t.Errorf("num = %d", v.num)
			}
		}},
		{name: "string length past end", in: "9:abc", wantErr: true},
		{name: "unterminated dict", in: "d1:a1:b", wantErr: true},
		{name: "integer key", in: "di1e1:ae", wantErr: true},
		{name: "trailing bytes", in: "1:ax", wantErr: true},
		{name: "too deep", in: string(bytes.Repeat([]byte("l"), 40)) + string(bytes.Repeat([]byte("e"), 40)), wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := bdecode([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}

func TestDecodeNG(t *testing.T) {
	tests := []struct {
		in         string
		wantCookie string
		wantErr    bool
	}{
		{in: "1_2_3 d6:result4:ponge", wantCookie: "1_2_3"},
		{in: "d6:result4:ponge", wantErr: true},
		{in: " d6:result4:ponge", wantErr: true},
		{in: "c l1:ae", wantErr: true},
	}
	for _, tt := range tests {
		cookie, _, err := decodeNG([]byte(tt.in))
		if (err != nil) != tt.wantErr || cookie != tt.wantCookie {
			t.Errorf("decodeNG(%q) = %q, %v", tt.in, cookie, err)
		}
	}
}
