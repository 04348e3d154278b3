package ng

import (
	"errors"
	"strings"
	"testing"
)

func TestJSONDecode(t *testing.T) {
	v, err := DecodeJSON([]byte(`{"command":"offer","flags":["trust-address"],"TOS":184,"n":-1,
		"f":1.5,"t":true,"no":false,"nil":null,"nested":{"a":[{}]},"sdp":"v=0\r\n\u00e9"}`))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range v.Entries() {
		keys = append(keys, e.Key)
	}
	if got := strings.Join(keys, ","); got != "command,flags,TOS,n,f,t,no,nil,nested,sdp" {
		t.Errorf("key order %q", got)
	}
	checks := []struct {
		key  string
		want Value
	}{
		{"command", String("offer")}, {"TOS", Int(184)}, {"n", Int(-1)}, {"f", String("1.5")},
		{"t", Int(1)}, {"no", Int(0)}, {"nil", String("")}, {"sdp", String("v=0\r\né")},
	}
	for _, c := range checks {
		if got := v.Get(c.key); string(Encode(got)) != string(Encode(c.want)) {
			t.Errorf("%s = %q, want %q", c.key, Encode(got), Encode(c.want))
		}
	}
	if f, _ := v.Get("flags").List()[0].Str(); f != "trust-address" {
		t.Errorf("flags[0] = %q", f)
	}
}

func TestJSONDecodeErrors(t *testing.T) {
	var se *SyntaxError
	var le *LimitError
	tests := []struct {
		in   string
		want func(error) bool
	}{
		{`{"command":`, func(err error) bool { return errors.Is(err, ErrTruncated) }},
		{`{"a":1,"a":2}`, func(err error) bool { return errors.As(err, &se) }},
		{`{"a":1} {}`, func(err error) bool { return errors.As(err, &se) }},
		{`{"a":tru}`, func(err error) bool { return errors.As(err, &se) }},
		{`{"secret inline:KEY" 1}`, func(err error) bool { return errors.As(err, &se) && !strings.Contains(err.Error(), "KEY") }},
		{strings.Repeat("[", 33) + strings.Repeat("]", 33), func(err error) bool { return errors.As(err, &le) }},
		{"[" + strings.Repeat("0,", 1024) + "0]", func(err error) bool { return errors.As(err, &le) }},
	}
	for _, tt := range tests {
		if _, err := DecodeJSON([]byte(tt.in)); err == nil || !tt.want(err) {
			t.Errorf("DecodeJSON(%.40q) = %v", tt.in, err)
		}
	}
}

func TestJSONEncode(t *testing.T) {
	v := Dict(
		E("sdp", String("v=0\r\n\"q\"\\\x01é\xff")),
		E("calls", List(String("a"), Int(-5))),
		E("empty", Dict()),
		E("result", String("ok")),
	)
	want := `{"sdp":"v=0\r\n\"q\"\\\u0001é` + "\uFFFD" + `","calls":["a",-5],"empty":{},"result":"ok"}`
	if got := string(EncodeJSON(v)); got != want {
		t.Fatalf("EncodeJSON =\n%s\nwant\n%s", got, want)
	}
}
