package relay

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/relay/udp/udptest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// The golden SDP cases run offer/answer exchanges through a relay on the
// in-memory network and compare each produced SDP with testdata/sdp/*.sdp.
// Allocated ports and srtpgw's certificate fingerprint vary per run, so they
// are replaced by placeholders (<lan-rtp-1>, <fingerprint>, ...) first.

const phoneOffer = "v=0\r\no=- 1001 1 IN IP4 10.0.0.50\r\ns=-\r\nc=IN IP4 10.0.0.50\r\nt=0 0\r\n" +
	"m=audio 16384 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"

const cloudAnswer = "v=0\r\no=- 7000 2 IN IP4 203.0.113.9\r\ns=-\r\nt=0 0\r\nm=audio 50000 UDP/TLS/RTP/SAVPF 0 101\r\n" +
	"c=IN IP4 203.0.113.9\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"a=setup:passive\r\na=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=candidate:1 1 udp 2122260223 203.0.113.9 50000 typ host\r\n"

const cloudOffer = "v=0\r\no=- 8000 1 IN IP4 203.0.113.9\r\ns=cloud\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\n" +
	"a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n" +
	"a=setup:actpass\r\nm=audio 50000 UDP/TLS/RTP/SAVPF 111 0 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\na=mid:0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\na=sendrecv\r\n"

const phoneAnswer = "v=0\r\no=- 1002 1 IN IP4 10.0.0.51\r\ns=-\r\nc=IN IP4 10.0.0.51\r\nt=0 0\r\n" +
	"m=audio 17000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n"

const phoneOfferTwoM = "v=0\r\no=- 1001 1 IN IP4 10.0.0.50\r\ns=-\r\nc=IN IP4 10.0.0.50\r\nt=0 0\r\n" +
	"m=audio 16384 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n" +
	"m=video 16390 RTP/AVP 96\r\nb=AS:512\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f\r\na=sendrecv\r\n"

// phoneToCloud is the ng-protocol.md b.6 "phone -> cloud" offer flag set
// (with ICE removed: ICE=force is the WebRTC issue's).
func phoneToCloud(sdp string) *Request {
	return &Request{CallID: "golden", FromTag: "ft-phone", SDP: []byte(sdp), Transport: TransportDTLSSAVPF,
		ICE: ICERemove, RTCPMux: RTCPMuxOffer | RTCPMuxRequire, SDES: []string{"off"},
		Replace: ReplaceOrigin | ReplaceSessionConnection, FromInterface: "lan", ToInterface: "wan",
		Flags: Flags{TrustAddress: true, StrictSource: true}}
}

type goldenStep struct {
	name string
	run  func(r *Relay) ([]byte, error)
}

func TestSDPGolden(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		steps []goldenStep
	}{
		{"phone-to-cloud", []goldenStep{
			{"offer", func(r *Relay) ([]byte, error) { return r.Offer(ctx, phoneToCloud(phoneOffer)) }},
			{"answer", func(r *Relay) ([]byte, error) {
				return r.Answer(ctx, &Request{CallID: "golden", FromTag: "ft-phone", ToTag: "tt-cloud", SDP: []byte(cloudAnswer),
					ICE: ICERemove, RTCPMux: RTCPMuxDemux, Replace: ReplaceOrigin | ReplaceSessionConnection})
			}},
		}},
		{"cloud-to-phone", []goldenStep{
			{"offer", func(r *Relay) ([]byte, error) {
				return r.Offer(ctx, &Request{CallID: "golden", FromTag: "ft-cloud", SDP: []byte(cloudOffer), Transport: TransportRTPAVP,
					ICE: ICERemove, RTCPMux: RTCPMuxDemux, SDES: []string{"off"}, FromInterface: "wan", ToInterface: "lan",
					Replace: ReplaceOrigin})
			}},
			{"answer", func(r *Relay) ([]byte, error) {
				return r.Answer(ctx, &Request{CallID: "golden", FromTag: "ft-cloud", ToTag: "tt-phone", SDP: []byte(phoneAnswer), Replace: ReplaceOrigin})
			}},
		}},
		{"hold-resume", []goldenStep{
			{"offer", func(r *Relay) ([]byte, error) { return r.Offer(ctx, phoneToCloud(phoneOffer)) }},
			{"answer", func(r *Relay) ([]byte, error) {
				return r.Answer(ctx, &Request{CallID: "golden", FromTag: "ft-phone", ToTag: "tt-cloud", SDP: []byte(cloudAnswer), RTCPMux: RTCPMuxDemux})
			}},
			{"reoffer-same", func(r *Relay) ([]byte, error) { return r.Offer(ctx, phoneToCloud(phoneOffer)) }},
			{"reoffer-hold", func(r *Relay) ([]byte, error) {
				hold := strings.Replace(strings.Replace(phoneOffer, "a=sendrecv", "a=sendonly", 1), "1001 1", "1001 2", 1)
				return r.Offer(ctx, phoneToCloud(hold))
			}},
			{"reoffer-resume-new-port", func(r *Relay) ([]byte, error) {
				resume := strings.Replace(strings.Replace(phoneOffer, "16384", "16500", 1), "1001 1", "1001 3", 1)
				return r.Offer(ctx, phoneToCloud(resume))
			}},
		}},
		{"two-m-lines", []goldenStep{
			{"offer", func(r *Relay) ([]byte, error) { return r.Offer(ctx, phoneToCloud(phoneOfferTwoM)) }},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := goldenRelay(t)
			defer r.Close()
			for _, st := range tc.steps {
				out, err := st.run(r)
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				got := normaliseSDP(r, string(out))
				file := filepath.Join("testdata", "sdp", tc.name+"."+st.name+".sdp")
				if *update {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run with -update to create)", err)
				}
				if got != string(want) {
					t.Errorf("%s: SDP differs from %s\n--- got\n%s\n--- want\n%s", st.name, file, got, want)
				}
			}
		})
	}
}

func goldenRelay(t testing.TB) *Relay {
	cfg := DefaultConfig()
	cfg.Interfaces = []Interface{
		{Name: "lan", Addr: netip.MustParseAddr("192.168.1.2"), Advertised: netip.MustParseAddr("192.168.1.2")},
		{Name: "wan", Addr: netip.MustParseAddr("10.9.0.2"), Advertised: netip.MustParseAddr("198.51.100.7")},
	}
	cfg.PortMin, cfg.PortMax = 30000, 30099
	cfg.Certs = certSource{sharedCert(t)}
	cfg.Network = udptest.New()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// normaliseSDP replaces run-dependent values with placeholders and shows
// line ends as written. Each interface draws its ports from its own pool
// over the same range, so both legs can hold the same port number: only
// the ports of the leg whose address the SDP carries are named (all legs'
// if none matches), or a collision would name the wrong leg.
func normaliseSDP(r *Relay, s string) string {
	r.mu.Lock()
	c := r.calls["golden"]
	legs := c.legs[:]
	for _, l := range c.legs {
		if strings.Contains(s, "c=IN IP4 "+l.iface.Advertised.String()+"\r\n") {
			legs = []*Leg{l}
			break
		}
	}
	var repl []string
	for _, l := range legs {
		for _, m := range l.medias {
			repl = append(repl,
				fmt.Sprintf(" %d ", m.rtp.local.Port()), fmt.Sprintf(" <%s-rtp-%d> ", l.iface.Name, m.index),
				fmt.Sprintf(":%d ", m.rtp.local.Port()), fmt.Sprintf(":<%s-rtp-%d> ", l.iface.Name, m.index),
				fmt.Sprintf(":%d ", m.rtcp.local.Port()), fmt.Sprintf(":<%s-rtcp-%d> ", l.iface.Name, m.index))
		}
	}
	r.mu.Unlock()
	repl = append(repl, sharedCert(nil).Fingerprint().String(), "sha-256 <fingerprint>", "\r\n", "\\r\\n\n")
	return strings.NewReplacer(repl...).Replace(s)
}
