package ng

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBencodeRoundTrip(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"ping", "d7:command4:pinge"},
		{"unsorted keys", "d7:command4:ping1:ai1ee"},
		{"empty dict", "de"},
		{"empty list", "le"},
		{"empty string", "0:"},
		{"zero", "i0e"},
		{"negative", "i-42e"},
		{"int64 max", "i9223372036854775807e"},
		{"int64 min", "i-9223372036854775808e"},
		{"nested", "d1:ad1:bl1:cd1:di1eeeee"},
		{"binary string", "4:\x00\xff\r\n"},
		{"list of strings", "l13:trust-address13:strict-sourcee"},
		{"received-from", "d13:received-froml3:IP48:10.0.0.2ee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := Encode(v); string(got) != tt.in {
				t.Fatalf("Encode(Decode(x)) = %q, want %q", got, tt.in)
			}
		})
	}
}

func TestBencodeDecodeValues(t *testing.T) {
	v, err := Decode([]byte("d1:zi-7e1:al1:xd1:yi3eee3:sdp3:v=0e"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind() != KindDict {
		t.Fatalf("kind %v, want dictionary", v.Kind())
	}
	var keys []string
	for _, e := range v.Entries() {
		keys = append(keys, e.Key)
	}
	if got := strings.Join(keys, ","); got != "z,a,sdp" {
		t.Errorf("keys %q, want message order z,a,sdp", got)
	}
	if n, ok := v.Get("z").Int(); !ok || n != -7 {
		t.Errorf("z = %d,%v, want -7", n, ok)
	}
	list := v.Get("a").List()
	if len(list) != 2 {
		t.Fatalf("a has %d items, want 2", len(list))
	}
	if s, _ := list[0].Str(); s != "x" {
		t.Errorf("a[0] = %q, want x", s)
	}
	if n, _ := list[1].Get("y").Int(); n != 3 {
		t.Errorf("a[1].y = %d, want 3", n)
	}
	if s, _ := v.Get("sdp").Str(); s != "v=0" {
		t.Errorf("sdp = %q", s)
	}
	if !v.Get("missing").IsZero() {
		t.Error("missing key should give the zero Value")
	}
}

func TestBencodeDecodeErrors(t *testing.T) {
	var se *SyntaxError
	var le *LimitError
	isSyntax := func(err error) bool { return errors.As(err, &se) }
	isLimit := func(err error) bool { return errors.As(err, &le) }
	isTrunc := func(err error) bool { return errors.Is(err, ErrTruncated) }
	tests := []struct {
		name, in string
		want     func(error) bool
	}{
		{"empty", "", isTrunc},
		{"truncated dict", "d7:command4:pin", isTrunc},
		{"truncated length", "d7", isTrunc},
		{"unterminated dict", "d7:command4:ping", isTrunc},
		{"unterminated int", "i12", isTrunc},
		{"string past end", "5:abc", isTrunc},
		{"huge length", "99999999999:a", isSyntax},
		{"leading zero length", "03:abc", isSyntax},
		{"leading zero int", "i03e", isSyntax},
		{"negative zero", "i-0e", isSyntax},
		{"empty int", "ie", isSyntax},
		{"minus only", "i-e", isSyntax},
		{"int overflow", "i9223372036854775808e", isSyntax},
		{"int underflow", "i-9223372036854775809e", isSyntax},
		{"int too long", "i123456789012345678901e", isSyntax},
		{"bad byte", "x", isSyntax},
		{"int key", "di1ei2ee", isSyntax},
		{"list key", "dle1:ae", isSyntax},
		{"duplicate key", "d1:ai1e1:ai2ee", isSyntax},
		{"trailing data", "dee", isSyntax},
		{"two values", "i1ei2e", isSyntax},
		{"missing colon", "3abc", isSyntax},
		{"depth", strings.Repeat("l", 33) + strings.Repeat("e", 33), isLimit},
		{"dict keys", "d" + manyKeys(257) + "e", isLimit},
		{"list length", "l" + strings.Repeat("i0e", 1025) + "e", isLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			if !tt.want(err) {
				t.Fatalf("error %T %v is not of the expected kind", err, err)
			}
		})
	}
}

func TestBencodeLimitsAtBoundary(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("l", 32) + strings.Repeat("e", 32),
		"d" + manyKeys(256) + "e",
		"l" + strings.Repeat("i0e", 1024) + "e",
	} {
		if _, err := Decode([]byte(in)); err != nil {
			t.Errorf("input of %d bytes at a limit: %v", len(in), err)
		}
	}
	// The item budget covers the whole message, whatever its shape.
	lim := DefaultLimits
	lim.MaxItems = 10
	_, err := DecodeLimits([]byte("l"+strings.Repeat("i0e", 10)+"e"), lim)
	var le *LimitError
	if !errors.As(err, &le) || le.What != "items" {
		t.Fatalf("11 items with MaxItems 10: %v, want an items LimitError", err)
	}
}

func TestBencodeErrorsDoNotEchoContent(t *testing.T) {
	secret := "inline:SECRETKEYMATERIAL"
	for _, in := range []string{
		"d3:sdp24:" + secret + "x",
		"d3:sdp24:" + secret + "e1:",
		"d3:sdp" + "99:" + secret,
	} {
		_, err := Decode([]byte(in))
		if err == nil {
			t.Fatalf("%q decoded", in)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("error %q echoes input", err)
		}
	}
}

func TestBencodeEncode(t *testing.T) {
	v := Dict(
		E("sdp", String("v=0\r\n")),
		E("calls", List(String("a"), Int(-1))),
		E("n", Int(0)),
		E("empty", Dict()),
		E("result", String("ok")),
	)
	want := "d3:sdp5:v=0\r\n5:callsl1:ai-1ee1:ni0e5:emptyde6:result2:oke"
	if got := string(Encode(v)); got != want {
		t.Fatalf("Encode = %q, want %q", got, want)
	}
	if got := string(AppendEncode([]byte("c "), Int(5))); got != "c i5e" {
		t.Fatalf("AppendEncode = %q", got)
	}
	if got := string(Encode(Value{})); got != "0:" {
		t.Fatalf("zero Value encodes as %q, want 0:", got)
	}
}

func TestBencodeDecodePrefix(t *testing.T) {
	in := []byte("d1:ai1ee1 d")
	v, n, err := decodePrefix(in, DefaultLimits)
	if err != nil || n != 8 {
		t.Fatalf("decodePrefix = %v, %d, %v; want 8 bytes", v, n, err)
	}
	if !bytes.Equal(Encode(v), in[:8]) {
		t.Fatalf("prefix value re-encodes as %q", Encode(v))
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		k := []byte{byte('a' + i%26), byte('a' + i/26%26)}
		b.WriteString("2:" + string(k) + "i0e")
	}
	return b.String()
}

func BenchmarkDecodeOffer(b *testing.B) {
	msg := readTestdata(b, "b8-offer-request.bencode")
	payload := msg[bytes.IndexByte(msg, ' ')+1:]
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := Decode(payload); err != nil {
			b.Fatal(err)
		}
	}
}
