package ng

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzBencode checks that no input panics the codec, that anything Decode
// accepts re-encodes to the identical bytes (the decoder accepts only
// canonical items and keeps key order), and that JSON encoding of any
// decoded value is stable: decoding it again and re-encoding gives the
// same bytes. Seeds live in testdata/fuzz/FuzzBencode, including the
// worked examples of ng-protocol.md b.8.
func FuzzBencode(f *testing.F) {
	f.Add([]byte("d7:command4:pinge"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err == nil {
			if got := Encode(v); !bytes.Equal(got, data) {
				t.Fatalf("Encode(Decode(x)) = %q, want %q", got, data)
			}
			checkJSONStable(t, v)
		}
		if jv, err := DecodeJSON(data); err == nil {
			checkJSONStable(t, jv)
			b := Encode(jv)
			if again, err := Decode(b); err != nil || !bytes.Equal(Encode(again), b) {
				t.Fatalf("bencode of a JSON value does not round-trip: %v", err)
			}
		}
	})
}

func checkJSONStable(t *testing.T, v Value) {
	t.Helper()
	// JSON strings are Unicode: a bencode value with non-UTF-8 bytes (a
	// binary key, say) has no faithful JSON form, and srtpgw only answers
	// in JSON to JSON requests, whose strings are UTF-8 already.
	if !validUTF8(v) {
		return
	}
	j := EncodeJSON(v)
	v2, err := DecodeJSON(j)
	if err != nil {
		t.Fatalf("DecodeJSON(EncodeJSON(v)) failed: %v on %q", err, j)
	}
	if j2 := EncodeJSON(v2); !bytes.Equal(j, j2) {
		t.Fatalf("JSON not stable: %q then %q", j, j2)
	}
}

// FuzzHandle drives whole datagrams through the server with an engine
// that accepts everything: nothing may panic, and any reply must start
// with the request's cookie and decode as a dictionary with a result.
func FuzzHandle(f *testing.F) {
	for _, n := range []string{"b8-offer-request.bencode", "b8-answer-request.bencode"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`1 {"command":"ping"}`))
	f.Add([]byte("2 d7:command6:deletee"))
	f.Add([]byte("3 d7:command5:query7:call-id1:xe"))
	f.Add([]byte("4 d7:command15:start recordinge"))
	f.Add([]byte("5 d7:command4:list5:limiti-1ee"))
	f.Add([]byte("6 d7:command10:statisticse"))
	from := netip.MustParseAddrPort("127.0.0.1:5060")
	f.Fuzz(func(t *testing.T, msg []byte) {
		// A fresh server per input: with one shared server the reply
		// cache would answer most inputs (same cookie) without parsing.
		s := NewServer(newFakeEngine(), Config{})
		reply := s.Handle(context.Background(), msg, from)
		if reply == nil {
			return
		}
		sp := bytes.IndexByte(msg, ' ')
		if sp <= 0 || !bytes.HasPrefix(reply, msg[:sp+1]) {
			t.Fatalf("reply %q does not echo the cookie of %q", reply, msg)
		}
		body := reply[sp+1:]
		var d Value
		var err error
		if len(body) > 0 && body[0] == '{' {
			d, err = DecodeJSON(body)
		} else {
			d, err = Decode(body)
		}
		if err != nil {
			t.Fatalf("reply does not decode: %v: %q", err, reply)
		}
		if _, ok := d.Get("result").Str(); !ok {
			t.Fatalf("reply has no result: %q", reply)
		}
	})
}

// validUTF8 reports whether every string and key in v is valid UTF-8.
func validUTF8(v Value) bool {
	switch v.Kind() {
	case KindString:
		return utf8.Valid(v.Bytes())
	case KindList:
		for _, x := range v.List() {
			if !validUTF8(x) {
				return false
			}
		}
	case KindDict:
		for _, e := range v.Entries() {
			if !utf8.ValidString(e.Key) || !validUTF8(e.Value) {
				return false
			}
		}
	}
	return true
}
