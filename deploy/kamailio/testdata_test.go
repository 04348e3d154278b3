package kamailio

// Pins what Kamailio 5.6 really sent (and rtpengine 10.5 replied) in the
// captured calls under testdata/, so the notes in testdata/README.md stay
// true when the files are re-captured with -update, and so the ng engineer
// can rely on them. Runs without any external program.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

// cookieRE is Kamailio's "<server_id>_<pid>_<seq>" cookie (ng-protocol.md b.3).
var cookieRE = regexp.MustCompile(`^\d+_\d+_\d+$`)

func loadNG(t *testing.T, dir, name string) (string, interop.Value) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	cookie, v, err := interop.DecodeNG(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cookie, v
}

func TestCapturedKamailioRequests(t *testing.T) {
	tests := []struct {
		dir        string
		offerKeys  []string
		answerKeys []string
		offerProto string // transport-protocol in the offer
	}{
		{
			dir: "testdata",
			offerKeys: []string{"supports", "sdp", "ICE", "direction", "flags", "replace",
				"transport-protocol", "rtcp-mux", "SDES", "call-id", "received-from", "from-tag", "command"},
			answerKeys: []string{"supports", "sdp", "ICE", "flags", "replace",
				"transport-protocol", "rtcp-mux", "call-id", "received-from", "from-tag", "to-tag", "command"},
			offerProto: "UDP/TLS/RTP/SAVP",
		},
		{
			dir: "testdata/upstream-to-phone",
			offerKeys: []string{"supports", "sdp", "ICE", "direction", "flags", "replace",
				"transport-protocol", "rtcp-mux", "call-id", "received-from", "from-tag", "command"},
			answerKeys: []string{"supports", "sdp", "ICE", "flags", "replace",
				"SDES", "call-id", "received-from", "from-tag", "to-tag", "command"},
			offerProto: "RTP/AVP",
		},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			files := map[string]interop.Value{}
			for _, n := range []string{"offer.req", "answer.req", "delete.req"} {
				cookie, v := loadNG(t, tt.dir, n)
				if !cookieRE.MatchString(cookie) {
					t.Errorf("%s: cookie %q", n, cookie)
				}
				files[n] = v
				// No integers anywhere in these three commands.
				for _, k := range v.Keys {
					if v.Get(k).Kind == 'i' {
						t.Errorf("%s: %s is an integer", n, k)
					}
				}
			}
			offer, answer, del := files["offer.req"], files["answer.req"], files["delete.req"]
			if !slices.Equal(offer.Keys, tt.offerKeys) {
				t.Errorf("offer keys %q\nwant %q", offer.Keys, tt.offerKeys)
			}
			if !slices.Equal(answer.Keys, tt.answerKeys) {
				t.Errorf("answer keys %q\nwant %q", answer.Keys, tt.answerKeys)
			}
			// Delete: no to-tag, no via-branch, no flags; the from-tag is
			// the tag of whoever sent the BYE (here the caller).
			if want := []string{"supports", "call-id", "received-from", "from-tag", "command"}; !slices.Equal(del.Keys, want) {
				t.Errorf("delete keys %q, want %q", del.Keys, want)
			}
			ft := string(offer.Get("from-tag").Str)
			if string(answer.Get("from-tag").Str) != ft || string(del.Get("from-tag").Str) != ft {
				t.Errorf("from-tags: offer %q answer %q delete %q", ft, answer.Get("from-tag").Str, del.Get("from-tag").Str)
			}
			if got := string(offer.Get("transport-protocol").Str); got != tt.offerProto {
				t.Errorf("offer transport-protocol %q, want %q", got, tt.offerProto)
			}
			if got := offer.Get("ICE"); got.Kind != 's' || string(got.Str) != "remove" {
				t.Errorf("offer ICE is %+v, want the string remove", got)
			}
			for _, k := range []string{"supports", "received-from", "flags", "replace", "direction", "rtcp-mux"} {
				if got := offer.Get(k).Kind; got != 'l' {
					t.Errorf("offer %s kind %q, want a list", k, got)
				}
			}
		})
	}
}

func TestCapturedRelayReplies(t *testing.T) {
	tests := []struct {
		dir         string
		offerProto  string // m= protocol in the offer reply
		answerProto string // m= protocol in the answer reply
		secureSetup string // a=setup on the DTLS side
	}{
		{"testdata", "UDP/TLS/RTP/SAVP", "RTP/AVP", "actpass"},
		// The answer keeps the upstream offerer's SAVPF (RFC 3264 s6).
		{"testdata/upstream-to-phone", "RTP/AVP", "UDP/TLS/RTP/SAVPF", "active"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			sdps := map[string]sdpInfo{}
			for _, n := range []string{"offer.rep", "answer.rep"} {
				_, v := loadNG(t, tt.dir, n)
				// rtpengine puts sdp before result.
				if !slices.Equal(v.Keys, []string{"sdp", "result"}) || string(v.Get("result").Str) != "ok" {
					t.Errorf("%s: keys %q result %q", n, v.Keys, v.Get("result").Str)
				}
				sdps[n] = parseSDP(string(v.Get("sdp").Str))
			}
			if p := sdps["offer.rep"].proto; p != tt.offerProto {
				t.Errorf("offer reply proto %q, want %q", p, tt.offerProto)
			}
			if p := sdps["answer.rep"].proto; p != tt.answerProto {
				t.Errorf("answer reply proto %q, want %q", p, tt.answerProto)
			}
			for n, s := range sdps {
				_, fp := s.attr("fingerprint")
				setup, _ := s.attr("setup")
				_, crypto := s.attr("crypto")
				secure := s.proto != "RTP/AVP"
				if crypto || fp != secure || (secure && setup != tt.secureSetup) {
					t.Errorf("%s: crypto %v fingerprint %v setup %q", n, crypto, fp, setup)
				}
			}
			_, del := loadNG(t, tt.dir, "delete.rep")
			if string(del.Get("result").Str) != "ok" || del.Keys[len(del.Keys)-1] != "result" {
				t.Errorf("delete reply keys %q", del.Keys)
			}
			for _, k := range []string{"created", "last signal", "tags", "totals"} {
				if !del.Has(k) {
					t.Errorf("delete reply lacks %q", k)
				}
			}
			if del.Get("totals").Get("RTP").Get("packets").Num == 0 {
				t.Error("delete reply counted no RTP packets")
			}
		})
	}
}
