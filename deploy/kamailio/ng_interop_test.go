//go:build interop

package kamailio

// Checks on the ng traffic Kamailio exchanged with the relay during one call,
// and the -update writer for testdata/.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sdpWant is what one SDP produced by the relay must look like.
type sdpWant struct {
	proto string // m=audio protocol
	conn  string // relay address on that side
	dtls  bool   // DTLS-SRTP side: fingerprint + setup, no SDES
}

func checkRelaySDP(t *testing.T, what, sdp string, w sdpWant) {
	t.Helper()
	s := parseSDP(sdp)
	if s.proto != w.proto || s.conn != w.conn {
		t.Errorf("%s: m=audio proto %q c=%q, want %q %q", what, s.proto, s.conn, w.proto, w.conn)
	}
	if _, ok := s.attr("crypto"); ok {
		t.Errorf("%s: has a=crypto (SDES keys in signalling)", what)
	}
	if _, ok := s.attr("ice-ufrag"); ok {
		t.Errorf("%s: has ICE attributes although ICE=remove", what)
	}
	fp, hasFP := s.attr("fingerprint")
	setup, hasSetup := s.attr("setup")
	if !w.dtls {
		if hasFP || hasSetup {
			t.Errorf("%s: plain side has a=fingerprint/a=setup", what)
		}
		return
	}
	// RFC 8122 s5: "sha-256" and 32 colon-separated hex bytes.
	alg, hex, _ := strings.Cut(fp, " ")
	if !strings.EqualFold(alg, "sha-256") || len(strings.Split(hex, ":")) != 32 {
		t.Errorf("%s: a=fingerprint:%s, want sha-256 with 32 bytes", what, fp)
	}
	if !slices.Contains([]string{"actpass", "active", "passive"}, setup) {
		t.Errorf("%s: a=setup:%q (RFC 4145 s4)", what, setup)
	}
}

// checkNG verifies offer, answer and delete of one call and returns the
// relay sockets its SDPs advertised.
func checkNG(t *testing.T, ex []*ngExchange, tc callCase, hangupAt time.Time) relayPorts {
	t.Helper()
	t.Logf("ng commands (x sends): %v", commandsOf(ex))
	find := func(cmd string) *ngExchange {
		for _, e := range ex {
			if e.command == cmd {
				return e
			}
		}
		t.Fatalf("no ng %s", cmd) // ends the test; the return is not reached
		return nil
	}
	offer, answer, del := find("offer"), find("answer"), find("delete")
	for _, e := range []*ngExchange{offer, answer, del} {
		if e.rep == nil {
			t.Fatalf("ng %s: no reply", e.command)
		}
		if r := string(e.repDict.Get("result").Str); r != "ok" {
			t.Errorf("ng %s: result %q (%s)", e.command, r, e.repDict.Get("error-reason").Str)
		}
		// Kamailio 5.6 always adds these (ng-protocol.md b.5).
		if got := e.reqDict.Get("supports").Strs(); !slices.Equal(got, []string{"load limit"}) {
			t.Errorf("ng %s: supports = %q", e.command, got)
		}
		if got := e.reqDict.Get("received-from").Strs(); len(got) != 2 || got[0] != "IP4" {
			t.Errorf("ng %s: received-from = %q", e.command, got)
		}
	}
	callID := string(offer.reqDict.Get("call-id").Str)
	caller := string(offer.reqDict.Get("from-tag").Str)
	for _, e := range []*ngExchange{answer, del} {
		if got := string(e.reqDict.Get("call-id").Str); got != callID {
			t.Errorf("ng %s: call-id %q, offer had %q", e.command, got, callID)
		}
	}
	if got := string(answer.reqDict.Get("from-tag").Str); got != caller || !answer.reqDict.Has("to-tag") {
		t.Errorf("ng answer: from-tag %q (offer %q), has to-tag %v", got, caller, answer.reqDict.Has("to-tag"))
	}
	// The caller hung up, so the BYE (and the delete) carry its tag; Kamailio
	// sends no to-tag in a delete (DESIGN.md s11).
	if got := string(del.reqDict.Get("from-tag").Str); got != caller || del.reqDict.Has("to-tag") {
		t.Errorf("ng delete: from-tag %q (caller %q), has to-tag %v", got, caller, del.reqDict.Has("to-tag"))
	}
	if del.at.Before(hangupAt) {
		t.Errorf("ng delete sent %v before the hangup", hangupAt.Sub(del.at))
	}
	t.Logf("ng delete %v after hangup", del.at.Sub(hangupAt).Round(time.Millisecond))

	// The upstream agent's own SDP must carry DTLS-SRTP too.
	upSDP := answer.reqDict.Get("sdp").Str
	if !tc.fromPhone {
		upSDP = offer.reqDict.Get("sdp").Str
	}
	s := parseSDP(string(upSDP))
	plain := sdpWant{proto: "RTP/AVP", conn: relayLAN}
	// Toward the upstream: kamailio.cfg's UPSTREAM_PROTO in an offer; in an
	// answer, the upstream offerer's own protocol (RFC 3264 s6: the answer
	// keeps the offered transport).
	secure := sdpWant{proto: "UDP/TLS/RTP/SAVP", conn: relayWAN, dtls: true}
	toCallee, toCaller := secure, plain
	if !tc.fromPhone {
		secure.proto = s.proto
		toCallee, toCaller = plain, secure
	}
	offerSDP, answerSDP := string(offer.repDict.Get("sdp").Str), string(answer.repDict.Get("sdp").Str)
	checkRelaySDP(t, "offer reply (to callee)", offerSDP, toCallee)
	checkRelaySDP(t, "answer reply (to caller)", answerSDP, toCaller)
	rp := relayPorts{lan: relaySockets(answerSDP), wan: relaySockets(offerSDP)}
	if !tc.fromPhone {
		rp.lan, rp.wan = rp.wan, rp.lan
	}
	fp, _ := s.attr("fingerprint")
	setup, _ := s.attr("setup")
	t.Logf("upstream baresip SDP: proto %s, setup %q, fingerprint %.20s..., session-level attrs %q", s.proto, setup, fp, s.session)
	if !strings.HasPrefix(s.proto, "UDP/TLS/RTP/SAVP") || fp == "" || setup == "" {
		t.Errorf("upstream baresip SDP is not DTLS-SRTP: proto %q setup %q fingerprint %q", s.proto, setup, fp)
	}
	return rp
}

// saveTestdata writes the raw datagrams of offer, answer and delete.
func saveTestdata(t *testing.T, dir string, ex []*ngExchange) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range ex {
		if seen[e.command] || e.rep == nil {
			continue
		}
		seen[e.command] = true
		for ext, b := range map[string][]byte{".req": e.req, ".rep": e.rep} {
			if err := os.WriteFile(filepath.Join(dir, e.command+ext), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("wrote ng datagrams %v to %s", commandsOf(ex), dir)
}
