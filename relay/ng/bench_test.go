package ng

import (
	"bytes"
	"context"
	"strconv"
	"testing"
)

// BenchmarkHandleOffer measures one new offer through framing, cache,
// decode, parse, a no-op engine and encode (the b.8 worked example).
func BenchmarkHandleOffer(b *testing.B) {
	s := NewServer(newFakeEngine(), Config{})
	msg := readTestdata(b, "b8-offer-request.bencode")
	payload := msg[bytes.IndexByte(msg, ' '):]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		m := append([]byte(strconv.Itoa(i)), payload...)
		if s.Handle(context.Background(), m, loopClient) == nil {
			b.Fatal("no reply")
		}
	}
}

// BenchmarkHandleRetransmission measures a duplicate answered from the
// cache.
func BenchmarkHandleRetransmission(b *testing.B) {
	s := NewServer(newFakeEngine(), Config{})
	msg := readTestdata(b, "b8-offer-request.bencode")
	s.Handle(context.Background(), msg, loopClient)
	b.ReportAllocs()
	for b.Loop() {
		if s.Handle(context.Background(), msg, loopClient) == nil {
			b.Fatal("no reply")
		}
	}
}

// BenchmarkQueryReply measures rendering a query reply that needs
// trimming to fit the MTU.
func BenchmarkQueryReply(b *testing.B) {
	info := bigCallInfo(32, 16)
	b.ReportAllocs()
	for b.Loop() {
		Encode(Dict(callInfoEntries(info, maxStatsReply, Encode)...))
	}
}
