package load

import (
	"net/netip"
	"strings"
	"testing"
)

// rtpengineOffer is rtpengine 10.5's offer reply (ng-protocol.md b.8).
const rtpengineOffer = "v=0\r\no=- 1001 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 41000 UDP/TLS/RTP/SAVPF 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-15\r\na=sendrecv\r\na=rtcp:41000\r\na=rtcp-mux\r\na=setup:actpass\r\n" +
	"a=fingerprint:sha-256 57:A7:62:82:4C:E2:4B:0D:3E:CD:C1:35:19:38:A2:48:46:15:02:D5:4F:F2:32:3D:7F:05:26:66:60:F0:75:0C\r\n" +
	"a=ice-ufrag:bNnsKURu\r\n"

// srtpgwICEOffer is srtpgw's offer reply with ICE=force (WebRTC upstream).
const srtpgwICEOffer = "v=0\r\no=- 1 1 IN IP4 127.0.7.3\r\ns=-\r\nc=IN IP4 127.0.7.3\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0\r\n" +
	"m=audio 30182 UDP/TLS/RTP/SAVPF 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" +
	"a=ptime:20\r\na=sendrecv\r\na=mid:0\r\na=rtcp:30182 IN IP4 127.0.7.3\r\na=rtcp-mux\r\na=ice-ufrag:g2q611xJ\r\n" +
	"a=ice-pwd:FJtOSSv1EXJ7N1a0AF1rS/gXA+\r\na=candidate:1 1 UDP 2130706431 127.0.7.3 30182 typ host\r\na=end-of-candidates\r\n" +
	"a=setup:actpass\r\na=fingerprint:sha-256 A9:B5\r\n"

func TestParseSDP(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Media
		err  string
	}{
		{"rtpengine offer reply", rtpengineOffer, Media{
			RTP: netip.MustParseAddrPort("127.0.0.1:41000"), RTCP: netip.MustParseAddrPort("127.0.0.1:41000"), Proto: "UDP/TLS/RTP/SAVPF", Mux: true, Setup: "actpass",
			Fingerprint: "sha-256 57:A7:62:82:4C:E2:4B:0D:3E:CD:C1:35:19:38:A2:48:46:15:02:D5:4F:F2:32:3D:7F:05:26:66:60:F0:75:0C",
			ICE:         ICEParams{Ufrag: "bNnsKURu"}}, ""},
		{"srtpgw ICE-lite offer reply", srtpgwICEOffer, Media{
			RTP: netip.MustParseAddrPort("127.0.7.3:30182"), RTCP: netip.MustParseAddrPort("127.0.7.3:30182"), Proto: "UDP/TLS/RTP/SAVPF",
			Mux: true, Setup: "actpass", Fingerprint: "sha-256 A9:B5", Mid: "0",
			ICE: ICEParams{Ufrag: "g2q611xJ", Pwd: "FJtOSSv1EXJ7N1a0AF1rS/gXA+", Lite: true, Candidate: netip.MustParseAddrPort("127.0.7.3:30182")}}, ""},
		{"session-level credentials; RTCP, TCP and mDNS candidates skipped",
			"a=ice-ufrag:sess\na=ice-pwd:sesspwd\nc=IN IP4 10.0.0.1\nm=audio 4000 UDP/TLS/RTP/SAVPF 0\n" +
				"a=candidate:1 2 UDP 2130706430 10.0.0.1 4001 typ host\na=candidate:2 1 TCP 2130706431 10.0.0.1 9 typ host tcptype active\n" +
				"a=candidate:3 1 udp 2130706431 4f2a.local 4000 typ host\na=candidate:4 1 udp 1694498815 192.0.2.7 61000 typ srflx raddr 10.0.0.1 rport 4000\n" +
				"a=candidate:5 1 UDP 2130706431 10.0.0.1 4000 typ host\n",
			Media{RTP: netip.MustParseAddrPort("10.0.0.1:4000"), RTCP: netip.MustParseAddrPort("10.0.0.1:4001"), Proto: "UDP/TLS/RTP/SAVPF",
				ICE: ICEParams{Ufrag: "sess", Pwd: "sesspwd", Candidate: netip.MustParseAddrPort("192.0.2.7:61000")}}, ""},
		{"media-level credentials win", "a=ice-ufrag:sess\na=ice-pwd:sesspwd\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\na=ice-ufrag:med\na=ice-pwd:medpwd\n",
			Media{RTP: netip.MustParseAddrPort("10.0.0.1:4000"), RTCP: netip.MustParseAddrPort("10.0.0.1:4001"), Proto: "RTP/AVP",
				ICE: ICEParams{Ufrag: "med", Pwd: "medpwd"}}, ""},
		{"media-level c= wins, session-level setup and fingerprint (baresip)",
			"v=0\na=setup:active\na=fingerprint:sha-256 AA\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2\n",
			Media{RTP: netip.MustParseAddrPort("10.0.0.2:4000"), RTCP: netip.MustParseAddrPort("10.0.0.2:4001"), Proto: "RTP/AVP", Setup: "active", Fingerprint: "sha-256 AA"}, ""},
		{"a=rtcp full form (rtpengine answer without mux)", "c=IN IP4 127.0.0.2\nm=audio 41008 RTP/AVP 0\na=rtcp:41009 IN IP4 127.0.0.9\n",
			Media{RTP: netip.MustParseAddrPort("127.0.0.2:41008"), RTCP: netip.MustParseAddrPort("127.0.0.9:41009"), Proto: "RTP/AVP"}, ""},
		{"a=rtcp short form", "c=IN IP4 127.0.0.2\nm=audio 41008 RTP/AVP 0\na=rtcp:41011\n",
			Media{RTP: netip.MustParseAddrPort("127.0.0.2:41008"), RTCP: netip.MustParseAddrPort("127.0.0.2:41011"), Proto: "RTP/AVP"}, ""},
		{"bad a=rtcp", "c=IN IP4 127.0.0.2\nm=audio 41008 RTP/AVP 0\na=rtcp:x\n", Media{}, "a=rtcp"},
		{"first audio section only", "c=IN IP4 10.0.0.1\nm=video 5000 RTP/AVP 96\na=rtcp-mux\nm=audio 4000 RTP/AVP 0\nm=audio 6000 RTP/AVP 0\na=rtcp-mux\n",
			Media{RTP: netip.MustParseAddrPort("10.0.0.1:4000"), RTCP: netip.MustParseAddrPort("10.0.0.1:4001"), Proto: "RTP/AVP"}, ""},
		{"no audio", "v=0\nc=IN IP4 10.0.0.1\n", Media{}, "no audio"},
		{"no address", "v=0\nm=audio 4000 RTP/AVP 0\n", Media{}, "connection address"},
		{"bad port", "c=IN IP4 1.2.3.4\nm=audio 99999 RTP/AVP 0\n", Media{}, "port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSDP(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, c.want)
			}
		})
	}
}

func TestGeneratedSDPParses(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.1.1:20002")
	m, err := ParseSDP(PhoneSDP(a, 7))
	if err != nil || m.RTP != a || m.Proto != "RTP/AVP" || m.Mux || m.Fingerprint != "" {
		t.Fatalf("phone SDP -> %+v, %v", m, err)
	}
	u := netip.MustParseAddrPort("127.0.2.1:33333")
	for _, mux := range []bool{true, false} {
		rc := netip.MustParseAddrPort("127.0.2.1:40001")
		s := UpstreamSDP(u, rc, "UDP/TLS/RTP/SAVP", mux, "active", "sha-256 AB:CD")
		m, err = ParseSDP(s)
		if err != nil || m.RTP != u || m.Mux != mux || m.Setup != "active" || m.Fingerprint != "sha-256 AB:CD" {
			t.Fatalf("upstream SDP (mux %v) -> %+v, %v", mux, m, err)
		}
		if want := map[bool]netip.AddrPort{true: u, false: rc}[mux]; m.RTCP != want {
			t.Fatalf("mux %v: RTCP %v, want %v", mux, m.RTCP, want)
		}
		if !mux && !strings.Contains(s, "a=rtcp:40001 IN IP4 127.0.2.1\r\n") {
			t.Fatalf("demuxed answer lacks the full a=rtcp form: %q", s)
		}
	}
	if s := UpstreamSDP(u, u, "RTP/AVP", false, "", ""); strings.Contains(s, "setup") || strings.Contains(s, "fingerprint") {
		t.Fatalf("plain answer has DTLS attributes: %q", s)
	}
	if s := UpstreamSDP(u, u, "UDP/TLS/RTP/SAVP", true, "active", "sha-256 AB:CD"); strings.Contains(s, "ice-") || strings.Contains(s, "candidate") {
		t.Fatalf("answer without -ice has ICE attributes: %q", s)
	}
}

// TestICEAnswerSDP: the -ice upstream's answer parses back to its own
// credentials and host candidate, and echoes the offer's mid.
func TestICEAnswerSDP(t *testing.T) {
	u := netip.MustParseAddrPort("127.0.2.1:33333")
	creds := iceCreds{ufrag: "UPufrag1", pwd: "upstreampasswordupstream"}
	for _, mid := range []string{"0", ""} {
		s := upstreamSDP(u, u, "UDP/TLS/RTP/SAVPF", true, "active", "sha-256 AB:CD", &answerICE{creds: creds, mid: mid})
		m, err := ParseSDP(s)
		want := ICEParams{Ufrag: creds.ufrag, Pwd: creds.pwd, Candidate: u}
		if err != nil || m.ICE != want || m.Mid != mid || !m.Mux || m.Setup != "active" {
			t.Fatalf("mid %q: %+v, %v from\n%s", mid, m, err, s)
		}
		if strings.Contains(s, "ice-lite") || !strings.Contains(s, "a=end-of-candidates\r\n") {
			t.Fatalf("a full agent's answer: %q", s)
		}
		if hasGroup := strings.Contains(s, "a=group:BUNDLE "+mid+"\r\n"); hasGroup != (mid != "") {
			t.Fatalf("mid %q: BUNDLE group %v in %q", mid, hasGroup, s)
		}
	}
}

func TestColonHex(t *testing.T) {
	if got := colonHex([]byte{0x0a, 0xff, 0}); got != "0A:FF:00" {
		t.Fatal(got)
	}
	if fp := sdpFingerprint([]byte("x")); !strings.HasPrefix(fp, "sha-256 2D:71:16:42") || len(fp) != len("sha-256 ")+32*3-1 {
		t.Fatal(fp)
	}
}
