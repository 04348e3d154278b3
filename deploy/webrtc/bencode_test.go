package webrtc

// A small bencode codec for the harness's ng client: it encodes dictionaries
// in the order the test writes them (so the logged requests read like the
// brief) and decodes replies keeping key order. It is test code, not
// srtpgw's codec (relay/ng owns that); adapted from deploy/kamailio.

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"
)

// kv is one dictionary entry; a dict is an ordered list of them.
type kv struct {
	key string
	val any
}

// dict is a bencode dictionary that keeps the order it was written in.
type dict []kv

// bencode encodes string, []byte, int, int64, []string, []any and dict.
func bencode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := bencodeTo(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func bencodeTo(b *bytes.Buffer, v any, depth int) error {
	if depth > maxBencodeDepth {
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
			if err := bencodeTo(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('e')
	case dict:
		b.WriteByte('d')
		for _, e := range x {
			b.WriteString(strconv.Itoa(len(e.key)) + ":" + e.key)
			if err := bencodeTo(b, e.val, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('e')
	default:
		return fmt.Errorf("bencode: cannot encode %T", v)
	}
	return nil
}

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

// path follows a chain of dictionary keys.
func (v bvalue) path(keys ...string) bvalue {
	for _, k := range keys {
		v = v.get(k)
	}
	return v
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
	case c == 'l' || c == 'd':
		v := bvalue{kind: c}
		if c == 'd' {
			v.dict = map[string]bvalue{}
		}
		i++
		for i < len(b) && b[i] != 'e' {
			e, n, err := bdecodeAt(b, i, depth+1)
			if err != nil {
				return bvalue{}, 0, err
			}
			if c == 'l' {
				v.list = append(v.list, e)
				i = n
				continue
			}
			if e.kind != 's' {
				return bvalue{}, 0, errors.New("bencode: dictionary key is not a string")
			}
			val, n2, err := bdecodeAt(b, n, depth+1)
			if err != nil {
				return bvalue{}, 0, err
			}
			v.keys = append(v.keys, string(e.str))
			v.dict[string(e.str)] = val
			i = n2
		}
		if i >= len(b) {
			return bvalue{}, 0, errors.New("bencode: unterminated list or dictionary")
		}
		return v, i + 1, nil
	default:
		return bvalue{}, 0, fmt.Errorf("bencode: unexpected byte %q", c)
	}
}

func TestBencode(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		want    string
		wantErr bool
	}{
		{name: "ping", in: dict{{"command", "ping"}}, want: "d7:command4:pinge"},
		{name: "order kept", in: dict{{"b", 1}, {"a", []string{"x", "yz"}}}, want: "d1:bi1e1:al1:x2:yzee"},
		{name: "bytes with CRLF", in: []byte("a\r\nb"), want: "4:a\r\nb"},
		{name: "int64", in: int64(-7), want: "i-7e"},
		{name: "nested", in: []any{dict{{"k", "v"}}, "s"}, want: "ld1:k1:ve1:se"},
		{name: "unsupported", in: 1.5, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bencode(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBdecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, v bvalue)
	}{
		{name: "unsorted keys kept in wire order", in: "d1:bi1e1:al1:x1:yee", check: func(t *testing.T, v bvalue) {
			if len(v.keys) != 2 || v.keys[0] != "b" || v.keys[1] != "a" {
				t.Errorf("keys = %v, want [b a]", v.keys)
			}
			if got := v.get("a").strs(); len(got) != 2 || got[1] != "y" {
				t.Errorf("a = %v", got)
			}
		}},
		{name: "path", in: "d6:totalsd3:RTPd7:packetsi42eeee", check: func(t *testing.T, v bvalue) {
			if n := v.path("totals", "RTP", "packets").num; n != 42 {
				t.Errorf("packets = %d", n)
			}
			if k := v.path("totals", "nope", "packets").kind; k != 0 {
				t.Errorf("missing path kind %q", k)
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

func TestBencodeRoundTrip(t *testing.T) {
	in := dict{{"command", "offer"}, {"sdp", "v=0\r\n"}, {"rtcp-mux", []string{"offer", "require"}}, {"n", 3}}
	b, err := bencode(in)
	if err != nil {
		t.Fatal(err)
	}
	v, err := bdecode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.keys) != 4 || v.keys[2] != "rtcp-mux" {
		t.Errorf("keys %v", v.keys)
	}
	if got := v.get("rtcp-mux").strs(); len(got) != 2 || got[1] != "require" {
		t.Errorf("rtcp-mux %v", got)
	}
	if string(v.get("sdp").str) != "v=0\r\n" || v.get("n").num != 3 {
		t.Errorf("sdp %q n %d", v.get("sdp").str, v.get("n").num)
	}
}
