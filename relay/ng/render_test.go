package ng

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

// bigCallInfo is a call as the relay reports it after some media: two
// parties, one audio m= line each with an RTP and an RTCP stream, and
// identifiers as long as real SIP stacks make them.
func bigCallInfo(tagLen, labelLen int) *relay.CallInfo {
	created := time.Unix(1795772633, 563125000)
	stream := func(local, remote string, rtcp bool, ssrc uint32) relay.StreamInfo {
		flags := []string{"RTP", "filled", "confirmed"}
		if rtcp {
			flags = []string{"RTCP", "filled", "confirmed"}
		}
		return relay.StreamInfo{
			Local: netip.MustParseAddrPort(local), Endpoint: netip.MustParseAddrPort(remote),
			RTP: !rtcp, RTCP: rtcp, LastPacket: created.Add(time.Hour), SSRC: ssrc,
			Stats:       relay.Counters{Packets: 1234567890, Bytes: 212345678901, Errors: 12345},
			CryptoSuite: "AEAD_AES_128_GCM", Flags: flags,
		}
	}
	tag := func(prefix string, local, remote string, proto string) relay.TagInfo {
		return relay.TagInfo{
			Tag: prefix + strings.Repeat("t", tagLen-len(prefix)), Label: strings.Repeat("l", labelLen),
			ViaBranch: "z9hG4bK" + strings.Repeat("b", 40), Created: created,
			Medias: []relay.MediaInfo{{Index: 1, Type: "audio", Protocol: proto,
				Flags: []string{"initialized", "send", "recv", "rtcp-mux", "DTLS-SRTP", "DTLS role active"},
				Streams: []relay.StreamInfo{
					stream(local+":41000", remote+":50000", false, 4294967295),
					stream(local+":41001", remote+":50001", true, 4294967294),
				}}},
		}
	}
	return &relay.CallInfo{
		CallID:  strings.Repeat("c", 200) + "@pbx.clinic.example",
		Created: created, LastSignal: created.Add(time.Minute),
		Tags: []relay.TagInfo{
			tag("a", "[2001:db8:1:2:3:4:5:6]", "[2001:db8:ffff:ffff:ffff:ffff:ffff:fffe]", "RTP/AVP"),
			tag("b", "203.0.113.254", "198.51.100.254", "UDP/TLS/RTP/SAVPF"),
		},
		RTP:  relay.Counters{Packets: 9876543210, Bytes: 987654321098, Errors: 98765},
		RTCP: relay.Counters{Packets: 123456, Bytes: 12345678, Errors: 1},
	}
}

// The whole query/delete datagram stays under 1400 bytes however much
// there is to say, and keeps what Kamailio reads (b.9) as long as it fits.
func TestQueryReplySizeBound(t *testing.T) {
	tests := []struct {
		name              string
		tagLen, labelLen  int
		cookie            string
		wantLabels, wantS bool // tags' labels and streams' SSRC still present
	}{
		{"typical", 32, 16, "1_2345_99", true, true},
		{"long tags and labels", 64, 64, "1_2345_99", true, true},
		{"very long tags", 300, 64, "1_2345_99", false, false},
		{"long cookie", 32, 16, strings.Repeat("k", 255), true, true},
	}
	for _, tt := range tests {
		for _, json := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s json=%v", tt.name, json), func(t *testing.T) {
				e := newFakeEngine()
				info := bigCallInfo(tt.tagLen, tt.labelLen)
				e.queryInfo, e.deleteInfo = info, info
				s := NewServer(e, Config{})
				for _, cmd := range []string{"query", "delete"} {
					msg := fmt.Sprintf("%s d7:command%d:%s7:call-id%d:%se", tt.cookie, len(cmd), cmd, len(info.CallID), info.CallID)
					if json {
						msg = fmt.Sprintf(`%s {"command":%q,"call-id":%q}`, tt.cookie, cmd, info.CallID)
					}
					reply := s.Handle(context.Background(), []byte(msg), loopClient)
					if len(reply) >= maxStatsReply || len(reply) == 0 {
						t.Fatalf("%s reply is %d bytes, want 1..%d", cmd, len(reply), maxStatsReply-1)
					}
					d := decodeReply(t, reply, json)
					if r, _ := d.Get("result").Str(); r != "ok" {
						t.Fatalf("result %q", r)
					}
					if n, _ := d.Get("created").Int(); n != 1795772633 {
						t.Errorf("created %d", n)
					}
					if n, _ := d.Get("totals").Get("RTP").Get("packets").Int(); n != 9876543210 {
						t.Errorf("totals.RTP.packets %d", n)
					}
					tags := d.Get("tags").Entries()
					if tt.wantLabels {
						if len(tags) != 2 {
							t.Fatalf("%d tags", len(tags))
						}
						for _, tg := range tags {
							if l, _ := tg.Value.Get("label").Str(); len(l) != tt.labelLen {
								t.Errorf("tag %s label %q", tg.Key, l)
							}
						}
					}
					if tt.wantS {
						st := tags[0].Value.Get("medias").List()[0].Get("streams").List()[0]
						if n, _ := st.Get("SSRC").Int(); n != 4294967295 {
							t.Errorf("stream SSRC %d", n)
						}
					}
				}
			})
		}
	}
}

func decodeReply(t *testing.T, reply []byte, json bool) Value {
	t.Helper()
	body := payloadOf(reply)
	var d Value
	var err error
	if json {
		d, err = DecodeJSON(body)
	} else {
		d, err = Decode(body)
	}
	if err != nil {
		t.Fatalf("reply does not decode: %v", err)
	}
	return d
}

// With room to spare the reply has every field, in rtpengine's order.
func TestQueryReplyFullDetail(t *testing.T) {
	created := time.Unix(100, 0)
	info := &relay.CallInfo{Created: created, LastSignal: created,
		Tags: []relay.TagInfo{{Tag: "ft", Label: "phone", ViaBranch: "z9", Created: created,
			Medias: []relay.MediaInfo{{Index: 1, Type: "audio", Protocol: "RTP/AVP", Flags: []string{"initialized"},
				Streams: []relay.StreamInfo{{
					Local: netip.MustParseAddrPort("127.0.0.2:41000"), Endpoint: netip.MustParseAddrPort("127.0.0.10:20000"),
					LastPacket: created, SSRC: 4660, CryptoSuite: "AES_CM_128_HMAC_SHA1_80",
					Flags: []string{"RTP", "filled"}, Stats: relay.Counters{Packets: 5, Bytes: 860},
				}}}}}},
	}
	got := string(Encode(Dict(callInfoEntries(info, maxStatsReply, Encode)...)))
	want := "d7:createdi100e10:created_usi0e11:last signali100e4:SSRCde4:tagsd2:ftd3:tag2:ft5:label5:phone7:createdi100e" +
		"10:via-branch2:z96:mediasld5:indexi1e4:type5:audio8:protocol7:RTP/AVP7:streamsld10:local porti41000e" +
		"13:local address9:127.0.0.26:family4:IPv48:endpointd6:family4:IPv47:address10:127.0.0.104:porti20000ee" +
		"11:last packeti100e5:flagsl3:RTP6:fillede12:crypto suite23:AES_CM_128_HMAC_SHA1_804:SSRCi4660e" +
		"5:statsd7:packetsi5e5:bytesi860e6:errorsi0eeee5:flagsl11:initializedeeeee" +
		"6:totalsd3:RTPd7:packetsi0e5:bytesi0e6:errorsi0ee4:RTCPd7:packetsi0e5:bytesi0e6:errorsi0eeee"
	if got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}

// Each detail level is smaller than the one before, and the last always
// fits something useful.
func TestQueryReplyDetailLevels(t *testing.T) {
	info := bigCallInfo(40, 20)
	prev := 1 << 30
	for d := detailFull; d <= detailNoTags; d++ {
		n := len(Encode(Dict(callInfoAt(info, d)...)))
		if n >= prev {
			t.Errorf("detail %d is %d bytes, not below %d", d, n, prev)
		}
		prev = n
	}
	if got := callInfoEntries(info, 10, Encode); len(got) != 6 || len(got[4].Value.Entries()) != 0 {
		t.Errorf("impossible budget should fall back to no tags, got %v", got)
	}
}

func TestDuplicateTagsRenderedOnce(t *testing.T) {
	info := &relay.CallInfo{Tags: []relay.TagInfo{{Tag: "x", Label: "a"}, {Tag: "x", Label: "b"}}}
	v := Dict(callInfoAt(info, detailFull)...)
	if _, err := Decode(Encode(v)); err != nil {
		t.Fatalf("rendered reply does not decode: %v", err)
	}
	if l, _ := v.Get("tags").Get("x").Get("label").Str(); l != "a" || len(v.Get("tags").Entries()) != 1 {
		t.Fatalf("tags %v", v.Get("tags"))
	}
}
