package ng

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

const b8CallID = "a84b4c76e66710@pbx.clinic.example"

func parseB8(t *testing.T, name string) *params {
	t.Helper()
	d, err := Decode(payloadOf(readTestdata(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p, err := parseParams(d, loopClient)
	if err != nil {
		t.Fatalf("%s: parseParams: %v", name, err)
	}
	return p
}

// The worked offer of ng-protocol.md b.8: a phone's plain RTP SDP, asking
// for WebRTC-style DTLS-SRTP toward the answerer.
func TestParseB8Offer(t *testing.T) {
	p := parseB8(t, "b8-offer-request.bencode")
	r, err := p.offerAnswer(false)
	if err != nil {
		t.Fatal(err)
	}
	if !p.supportsLoadLimit {
		t.Error("supports: [load limit] not seen")
	}
	want := relay.Request{
		CallID:       b8CallID,
		FromTag:      "1928301774",
		Transport:    relay.TransportDTLSSAVPF,
		DTLS:         relay.DTLSActive,
		ICE:          relay.ICEForce,
		RTCPMux:      relay.RTCPMuxOffer | relay.RTCPMuxRequire,
		SDES:         []string{"off"},
		Replace:      relay.ReplaceOrigin | relay.ReplaceSessionConnection,
		ReceivedFrom: netip.MustParseAddr("10.0.0.2"),
		Flags:        relay.Flags{TrustAddress: true},
		Client:       loopClient,
	}
	if len(r.SDP) != 181 || !strings.HasPrefix(string(r.SDP), "v=0\r\no=- 1001 1 IN IP4 10.0.0.50\r\n") {
		t.Errorf("SDP = %d bytes %q", len(r.SDP), r.SDP)
	}
	got := *r
	got.SDP = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Request =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseB8Answer(t *testing.T) {
	p := parseB8(t, "b8-answer-request.bencode")
	r, err := p.offerAnswer(true)
	if err != nil {
		t.Fatal(err)
	}
	want := relay.Request{
		CallID:       b8CallID,
		FromTag:      "1928301774",
		ToTag:        "a6c85cf",
		Transport:    relay.TransportRTPAVP,
		ICE:          relay.ICERemove,
		RTCPMux:      relay.RTCPMuxDemux,
		Replace:      relay.ReplaceOrigin | relay.ReplaceSessionConnection,
		ReceivedFrom: netip.MustParseAddr("10.0.0.3"),
		Flags:        relay.Flags{TrustAddress: true},
		Client:       loopClient,
	}
	if len(r.SDP) != 439 {
		t.Errorf("SDP is %d bytes, want 439", len(r.SDP))
	}
	got := *r
	got.SDP = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Request =\n%+v\nwant\n%+v", got, want)
	}
	if !p.supportsLoadLimit {
		t.Error("supports: [load limit] not seen")
	}
}

// The same offer as JSON (b.8 shows both) must give the same Request.
func TestParseB8OfferJSON(t *testing.T) {
	d, err := Decode(payloadOf(readTestdata(t, "b8-offer-request.bencode")))
	if err != nil {
		t.Fatal(err)
	}
	jd, err := DecodeJSON(EncodeJSON(d))
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := parseParams(d, loopClient)
	pj, err := parseParams(jd, loopClient)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pb, pj) {
		t.Fatalf("JSON request parsed differently:\n%+v\n%+v", pj.req, pb.req)
	}
}

// Keys and values are accepted with spaces, hyphens or underscores, and
// list keys as a list or a comma-separated string, as rtpengine does.
func TestParseSpellings(t *testing.T) {
	variants := []Value{
		Dict(E("call-id", String("c")), E("from-tag", String("f")), E("to-tag", String("t")),
			E("transport-protocol", String("UDP/TLS/RTP/SAVP")), E("received-from", List(String("IP4"), String("192.0.2.1"))),
			E("media-address", String("192.0.2.9")), E("rtcp-mux", List(String("offer"))),
			E("flags", List(String("SIP-source-address"), String("strict-source"), String("no-rtcp-attribute"))),
			E("delete-delay", Int(5)), E("via-branch", String("z9")), E("address-family", String("IP4")),
			E("from-interface", String("lan")), E("to-interface", String("wan"))),
		Dict(E("call id", String("c")), E("from tag", String("f")), E("to tag", String("t")),
			E("transport protocol", String("UDP/TLS/RTP/SAVP")), E("received from", List(String("IP4"), String("192.0.2.1"))),
			E("media address", String("192.0.2.9")), E("rtcp mux", String("offer")),
			E("flags", String("SIP source address,strict source, no RTCP attribute")),
			E("delete delay", String("5")), E("via branch", String("z9")), E("address family", String("ip4")),
			E("direction", List(String("lan"), String("wan")))),
		Dict(E("call_id", String("c")), E("from_tag", String("f")), E("to_tag", String("t")),
			E("transport_protocol", String("UDP/TLS/RTP/SAVP")), E("received_from", String("192.0.2.1")),
			E("Media-Address", String("192.0.2.9")), E("RTCP-mux", List(String("OFFER"))),
			E("flags", List(String("sip_source_address"), String("Strict-Source"), String("no_RTCP_attribute"))),
			E("delete_delay", Int(5)), E("via_branch", String("z9")), E("Address-Family", String("IP4")),
			E("direction", List(String("lan"), String("wan"), String("ignored")))),
	}
	var first *params
	for i, v := range variants {
		p, err := parseParams(v, loopClient)
		if err != nil {
			t.Fatalf("variant %d: %v", i, err)
		}
		if first == nil {
			first = p
			continue
		}
		if !reflect.DeepEqual(p, first) {
			t.Errorf("variant %d =\n%+v\nwant\n%+v", i, p, first)
		}
	}
	r := first.req
	if r.CallID != "c" || r.ToTag != "t" || r.ViaBranch != "z9" || r.FromInterface != "lan" || r.ToInterface != "wan" ||
		r.Transport != relay.TransportDTLSSAVP || r.MediaAddress != netip.MustParseAddr("192.0.2.9") ||
		!r.Flags.SIPSourceAddress || r.Flags.TrustAddress || !r.Flags.StrictSource || !r.Flags.NoRTCPAttribute ||
		r.AddressFamily != "IP4" || first.delay != 5*time.Second || !first.hasDelay {
		t.Errorf("parsed %+v delay %v", r, first.delay)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		check func(r *relay.Request) bool
	}{
		{"WebRTC alias", []string{"WebRTC"}, func(r *relay.Request) bool {
			return r.Flags.WebRTC && r.Transport == relay.TransportDTLSSAVPF && r.ICE == relay.ICEForce &&
				r.RTCPMux == relay.RTCPMuxOffer|relay.RTCPMuxRequire && reflect.DeepEqual(r.SDES, []string{"off"}) &&
				r.Flags.GenerateMid && r.Flags.NoRTCPAttribute
		}},
		{"webrtc lower case", []string{"webrtc"}, func(r *relay.Request) bool { return r.Flags.WebRTC }},
		{"trust then SIP source", []string{"trust-address", "SIP-source-address"}, func(r *relay.Request) bool {
			return r.Flags.SIPSourceAddress && !r.Flags.TrustAddress
		}},
		{"SIP source then trust", []string{"SIP source address", "trust address"}, func(r *relay.Request) bool {
			return !r.Flags.SIPSourceAddress && r.Flags.TrustAddress
		}},
		{"prefixed aliases", []string{"rtcp-mux-require", "replace-origin", "replace-session-connection", "SDES-no-AES_CM_128_HMAC_SHA1_32", "OSRTP-accept"},
			func(r *relay.Request) bool {
				return r.RTCPMux == relay.RTCPMuxOffer|relay.RTCPMuxRequire &&
					r.Replace == relay.ReplaceOrigin|relay.ReplaceSessionConnection &&
					reflect.DeepEqual(r.SDES, []string{"no-AES_CM_128_HMAC_SHA1_32"}) &&
					reflect.DeepEqual(r.OSRTP, []string{"accept"})
			}},
		{"every boolean", []string{"strict-source", "media-handover", "symmetric", "asymmetric", "loop-protect",
			"port-latching", "no-port-latching", "generate-mid", "full-rtcp-attribute", "original-sendrecv",
			"fragment", "reset", "fatal"}, func(r *relay.Request) bool {
			f := r.Flags
			return f.StrictSource && f.MediaHandover && f.Symmetric && f.Asymmetric && f.LoopProtect &&
				f.PortLatching && f.NoPortLatching && f.GenerateMid && f.FullRTCPAttribute &&
				f.OriginalSendrecv && f.Fragment && f.Reset && f.Fatal
		}},
		{"unknown flags ignored", []string{"pierce-NAT", "no-redis-update", "codec-strip-all", "recrypt"},
			func(r *relay.Request) bool { return reflect.DeepEqual(r.Flags, relay.Flags{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := make([]Value, len(tt.flags))
			for i, f := range tt.flags {
				items[i] = String(f)
			}
			p, err := parseParams(Dict(E("flags", List(items...))), loopClient)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(&p.req) {
				t.Fatalf("flags %v gave %+v", tt.flags, p.req)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
		check func(p *params) bool
	}{
		{"ICE string", E("ICE", String("force-relay")), func(p *params) bool { return p.req.ICE == relay.ICEForceRelay }},
		{"ICE list", E("ICE", List(String("trickle"), String("remove"))), func(p *params) bool { return p.req.ICE == relay.ICERemove }},
		{"ICE unknown ignored", E("ICE", String("lite-both")), func(p *params) bool { return p.req.ICE == relay.ICEDefault }},
		{"DTLS off", E("DTLS", String("no")), func(p *params) bool { return p.req.DTLS == relay.DTLSOff }},
		{"DTLS-reverse", E("DTLS-reverse", String("passive")), func(p *params) bool { return p.req.DTLSReverse == relay.DTLSPassive }},
		{"fingerprint", E("DTLS-fingerprint", String("SHA-384")), func(p *params) bool { return p.req.DTLSFingerprintHash == "sha-384" }},
		{"accept", E("transport-protocol", String("accept")), func(p *params) bool { return p.req.TransportAccept }},
		{"received-from IP6", E("received-from", List(String("IP6"), String("2001:db8::1"))),
			func(p *params) bool { return p.req.ReceivedFrom == netip.MustParseAddr("2001:db8::1") }},
		{"labels", E("label", String("phone")), func(p *params) bool { return p.req.FromLabel == "phone" }},
		{"to-label", E("to-label", String("cloud")), func(p *params) bool { return p.req.ToLabel == "cloud" }},
		{"integer tag", E("from-tag", Int(1928301774)), func(p *params) bool { return p.req.FromTag == "1928301774" }},
		{"TOS ignored", E("TOS", Int(184)), func(p *params) bool { return reflect.DeepEqual(p.req, relay.Request{Client: loopClient}) }},
		{"unknown key ignored", E("xmlrpc-callback", Dict()), func(p *params) bool { return p.limit == defaultListLimit }},
		{"negative delete delay is default", E("delete delay", Int(-1)), func(p *params) bool { return !p.hasDelay }},
		{"limit digits", E("limit", String("7")), func(p *params) bool { return p.limit == 7 }},
		{"limit capped", E("limit", Int(1e9)), func(p *params) bool { return p.limit == maxListLimit }},
		{"supports other", E("supports", List(String("other"))), func(p *params) bool { return !p.supportsLoadLimit }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseParams(Dict(tt.entry), loopClient)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(p) {
				t.Fatalf("%s: got %+v", tt.entry.Key, p)
			}
		})
	}
}

func TestParseBadValues(t *testing.T) {
	tests := []struct {
		entry  Entry
		reason string
	}{
		{E("transport-protocol", String("RTP/FOO")), `Unknown transport-protocol "RTP/FOO"`},
		{E("transport-protocol", String("rtp/avp")), `Unknown transport-protocol "rtp/avp"`},
		{E("DTLS", String("sometimes")), `Unknown DTLS value "sometimes"`},
		{E("DTLS-fingerprint", String("MD5")), `Unknown DTLS-fingerprint hash "MD5"`},
		{E("received-from", List(String("IP4"), String("10.0.0.300"))), `Invalid received-from: expected ["IP4"|"IP6", "<address>"]`},
		{E("received-from", List(String("IP4"), String("2001:db8::1"))), `Invalid received-from: expected ["IP4"|"IP6", "<address>"]`},
		{E("received-from", List(String("IP5"), String("10.0.0.1"))), `Invalid received-from: expected ["IP4"|"IP6", "<address>"]`},
		{E("received-from", List(String("IP4"))), `Invalid received-from: expected ["IP4"|"IP6", "<address>"]`},
		{E("received-from", Int(4)), `Invalid received-from: expected ["IP4"|"IP6", "<address>"]`},
		{E("media-address", String("pbx.example")), "Invalid media-address: expected an IPv4 or IPv6 address"},
		{E("address-family", String("IPX")), "Invalid address-family: expected IP4 or IP6"},
		{E("delete delay", String("soon")), "Invalid delete delay: expected 0 to 86400 seconds"},
		{E("delete-delay", Int(86401)), "Invalid delete-delay: expected 0 to 86400 seconds"},
		{E("limit", Int(-1)), "invalid limit, must be >= 0"},
		{E("call-id", List()), `Invalid value for key "call-id": expected a string`},
		{E("sdp", Int(0)), `Invalid value for key "sdp": expected a string`},
		{E("flags", Dict()), `Invalid value for key "flags": expected a list of strings`},
		{E("flags", List(List())), `Invalid value for key "flags": expected a list of strings`},
		{E("direction", String("lan")), `Invalid value for key "direction": expected a list of interface names`},
		{E("rtpp-flags", String("trust-address")), "rtpp-flags is not supported by srtpgw: send the flags as ng keys"},
	}
	for _, tt := range tests {
		t.Run(tt.entry.Key, func(t *testing.T) {
			_, err := parseParams(Dict(tt.entry), loopClient)
			var re *requestError
			if !errors.As(err, &re) || re.reason != tt.reason {
				t.Fatalf("error %v, want %q", err, tt.reason)
			}
		})
	}
}

func TestRequiredKeys(t *testing.T) {
	full := []Entry{E("sdp", String("v=0")), E("call-id", String("c")), E("from-tag", String("f")), E("to-tag", String("t"))}
	without := func(key string) Value {
		var out []Entry
		for _, e := range full {
			if e.Key != key {
				out = append(out, e)
			}
		}
		return Dict(out...)
	}
	tests := []struct {
		d      Value
		answer bool
		want   error
	}{
		{without("sdp"), false, relay.ErrNoSDP},
		{Dict(E("sdp", String("")), E("call-id", String("c")), E("from-tag", String("f"))), false, relay.ErrNoSDP},
		{without("call-id"), false, relay.ErrNoCallID},
		{without("from-tag"), false, relay.ErrNoFromTag},
		{without("to-tag"), false, nil},
		{without("to-tag"), true, relay.ErrNoToTag},
		{Dict(), true, relay.ErrNoSDP}, // rtpengine checks sdp first
	}
	for i, tt := range tests {
		p, err := parseParams(tt.d, loopClient)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.offerAnswer(tt.answer); !errors.Is(err, tt.want) {
			t.Errorf("case %d: %v, want %v", i, err, tt.want)
		}
	}
	p, _ := parseParams(Dict(E("from-tag", String("f"))), loopClient)
	if _, err := p.deleteRequest(); !errors.Is(err, relay.ErrNoCallID) {
		t.Errorf("delete without call-id: %v", err)
	}
	if _, err := p.queryRequest(); !errors.Is(err, relay.ErrNoCallID) {
		t.Errorf("query without call-id: %v", err)
	}
}

// The SDP handed to the relay must not alias the datagram buffer, which
// the server reuses.
func TestParseCopiesSDP(t *testing.T) {
	buf := []byte("d3:sdp3:v=0e")
	d, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := parseParams(d, loopClient)
	copy(buf, "XXXXXXXXXXXX")
	if string(p.req.SDP) != "v=0" {
		t.Fatalf("SDP changed with the buffer: %q", p.req.SDP)
	}
}
