package interop

import (
	"bytes"
	"testing"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		want    string
		wantErr bool
	}{
		{name: "ping", in: NewDict("command", "ping"), want: "d7:command4:pinge"},
		{name: "order kept", in: NewDict("b", 1, "a", []string{"x", "yz"}), want: "d1:bi1e1:al1:x2:yzee"},
		{name: "bytes with CRLF", in: []byte("a\r\nb"), want: "4:a\r\nb"},
		{name: "int64", in: int64(-7), want: "i-7e"},
		{name: "nested", in: []any{NewDict("k", "v"), "s"}, want: "ld1:k1:ve1:se"},
		{name: "keyed literal", in: Dict{{Key: "k", Val: 2}}, want: "d1:ki2ee"},
		{name: "unsupported", in: 1.5, wantErr: true},
		{name: "unsupported inside a dict", in: NewDict("k", 1.5), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewDictPanics(t *testing.T) {
	for _, args := range [][]any{{"odd"}, {1, "int key"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewDict(%v) did not panic", args)
				}
			}()
			NewDict(args...)
		}()
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		check   func(t *testing.T, v Value)
	}{
		{name: "ping", in: "d7:command4:pinge", check: func(t *testing.T, v Value) {
			if got := string(v.Get("command").Str); got != "ping" {
				t.Errorf("command = %q", got)
			}
		}},
		{name: "unsorted keys kept in wire order", in: "d1:bi1e1:al1:x1:yee", check: func(t *testing.T, v Value) {
			if len(v.Keys) != 2 || v.Keys[0] != "b" || v.Keys[1] != "a" {
				t.Errorf("keys = %v, want [b a]", v.Keys)
			}
			if v.Get("b").Kind != 'i' || v.Get("b").Num != 1 {
				t.Errorf("b = %+v", v.Get("b"))
			}
			if got := v.Get("a").Strs(); len(got) != 2 || got[1] != "y" {
				t.Errorf("a = %v", got)
			}
			if !v.Has("a") || v.Has("c") {
				t.Errorf("Has(a) %v, Has(c) %v", v.Has("a"), v.Has("c"))
			}
		}},
		{name: "path", in: "d6:totalsd3:RTPd7:packetsi42eeee", check: func(t *testing.T, v Value) {
			if n := v.Path("totals", "RTP", "packets").Num; n != 42 {
				t.Errorf("packets = %d", n)
			}
			if k := v.Path("totals", "nope", "packets").Kind; k != 0 {
				t.Errorf("missing path kind %q", k)
			}
		}},
		{name: "binary string with CRLF", in: "4:a\r\nb", check: func(t *testing.T, v Value) {
			if string(v.Str) != "a\r\nb" {
				t.Errorf("str = %q", v.Str)
			}
		}},
		{name: "negative integer", in: "i-42e", check: func(t *testing.T, v Value) {
			if v.Num != -42 {
				t.Errorf("num = %d", v.Num)
			}
		}},
		{name: "string length past end", in: "9:abc", wantErr: true},
		{name: "unterminated dict", in: "d1:a1:b", wantErr: true},
		{name: "unterminated list", in: "l1:a", wantErr: true},
		{name: "integer key", in: "di1e1:ae", wantErr: true},
		{name: "trailing bytes", in: "1:ax", wantErr: true},
		{name: "too deep", in: string(bytes.Repeat([]byte("l"), 40)) + string(bytes.Repeat([]byte("e"), 40)), wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in))
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
	in := NewDict("command", "offer", "sdp", "v=0\r\n", "rtcp-mux", []string{"offer", "require"}, "n", 3)
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Keys) != 4 || v.Keys[2] != "rtcp-mux" {
		t.Errorf("keys %v", v.Keys)
	}
	if got := v.Get("rtcp-mux").Strs(); len(got) != 2 || got[1] != "require" {
		t.Errorf("rtcp-mux %v", got)
	}
	if string(v.Get("sdp").Str) != "v=0\r\n" || v.Get("n").Num != 3 {
		t.Errorf("sdp %q n %d", v.Get("sdp").Str, v.Get("n").Num)
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
		{in: "c d6:result", wantErr: true},
	}
	for _, tt := range tests {
		cookie, _, err := DecodeNG([]byte(tt.in))
		if (err != nil) != tt.wantErr || cookie != tt.wantCookie {
			t.Errorf("DecodeNG(%q) = %q, %v", tt.in, cookie, err)
		}
	}
}
