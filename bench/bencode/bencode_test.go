package bencode

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"string", "ping", "4:ping"},
		{"empty", "", "0:"},
		{"bytes", []byte("a b"), "3:a b"},
		{"int", 42, "i42e"},
		{"negative", int64(-7), "i-7e"},
		{"list", []any{"a", 1}, "l1:ai1ee"},
		{"strings", []string{"lan", "wan"}, "l3:lan3:wane"},
		{"sorted dict", map[string]any{"command": "ping", "a": "b"}, "d1:a1:b7:command4:pinge"},
		{"string map", map[string]string{"x": "y"}, "d1:x1:ye"},
		{"nested", map[string]any{"l": []any{map[string]any{}}}, "d1:lldeee"},
		{"utf8 length is bytes", "µ", "2:µ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Append(nil, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got %q want %q", got, c.want)
			}
		})
	}
	if _, err := Append(nil, 1.5); err == nil {
		t.Fatal("float encoded without error")
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want any
	}{
		{"pong", "d6:result4:ponge", map[string]any{"result": "pong"}},
		{"unsorted keys (rtpengine replies sdp before result)", "d3:sdp3:v=06:result2:oke",
			map[string]any{"sdp": "v=0", "result": "ok"}},
		{"int", "i-12e", int64(-12)},
		{"zero", "i0e", int64(0)},
		{"list", "l1:a1:be", []any{"a", "b"}},
		{"empty list", "le", []any{}},
		{"binary string", "3:\x00\xff:", "\x00\xff:"},
		{"nested", "d4:listld1:ki1eeee", map[string]any{"list": []any{map[string]any{"k": int64(1)}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v want %#v", got, c.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := map[string]string{
		"empty":             "",
		"trailing":          "i1ei2e",
		"leading zero int":  "i01e",
		"negative zero":     "i-0e",
		"empty int":         "ie",
		"unterminated int":  "i12",
		"short string":      "5:abc",
		"string len zero":   "01:a",
		"no colon":          "3abc",
		"unterminated list": "l1:a",
		"unterminated dict": "d1:a1:b",
		"int key":           "di1e1:ae",
		"junk":              "x",
		"too deep":          strings.Repeat("l", MaxDepth+2) + strings.Repeat("e", MaxDepth+2),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(in)); !errors.Is(err, ErrSyntax) {
				t.Fatalf("Decode(%q) = %v, want ErrSyntax", in, err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	in := map[string]any{
		"command":  "offer",
		"flags":    []any{"trust-address"},
		"TOS":      int64(184),
		"replace":  []any{"origin", "session-connection"},
		"rtcp-mux": []any{"demux"},
		"sdp":      "v=0\r\nm=audio 4000 RTP/AVP 0\r\n",
	}
	b, err := Append(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeDict(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %#v\nout %#v", in, out)
	}
	if _, err := DecodeDict([]byte("le")); err == nil {
		t.Fatal("DecodeDict accepted a list")
	}
}

func TestAccessors(t *testing.T) {
	m := map[string]any{"s": "x", "l": []any{"a", int64(1), "b"}, "i": int64(3)}
	if String(m, "s") != "x" || String(m, "i") != "" || String(m, "none") != "" {
		t.Fatal("String")
	}
	if got := Strings(m, "l"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("Strings list = %v", got)
	}
	if got := Strings(m, "s"); !reflect.DeepEqual(got, []string{"x"}) {
		t.Fatalf("Strings scalar = %v", got)
	}
	if Strings(m, "i") != nil {
		t.Fatal("Strings of int")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"d6:result4:ponge", "li1e1:ae", "i-3e", "d1:ad1:bleee"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same value.
		out, err := Append(nil, v)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", v, err)
		}
		v2, err := Decode(out)
		if err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip %q -> %q: %v", b, out, err)
		}
	})
}
