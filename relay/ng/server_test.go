package ng

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

func TestPing(t *testing.T) {
	s := NewServer(newFakeEngine(), Config{})
	tests := []struct{ in, want string }{
		{"5323_1 d7:command4:pinge", "5323_1 d6:result4:ponge"}, // rtpengine's doc example
		{`9_1 {"command":"ping"}`, `9_1 {"result":"pong"}`},     // JSON in, JSON out (10.5 live)
		{"1_2_3 d7:command4:ping7:call-id1:xe", "1_2_3 d6:result4:ponge"},
		{"c\x01 d7:command4:pinge", "c\x01 d6:result4:ponge"}, // cookie echoed verbatim
	}
	for _, tt := range tests {
		if got := roundTrip(t, s, tt.in); got != tt.want {
			t.Errorf("%q -> %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFraming(t *testing.T) {
	s := NewServer(newFakeEngine(), Config{})
	noReply := []string{"", "d7:command4:pinge", " d7:command4:pinge", strings.Repeat("c", maxCookie+1) + " de"}
	for _, in := range noReply {
		if got := s.Handle(context.Background(), []byte(in), loopClient); got != nil {
			t.Errorf("%q got reply %q, want none", in, got)
		}
	}
	st := s.Stats()
	if st.Dropped[DropNoCookie] != 3 || st.Dropped[DropMalformed] != 1 {
		t.Errorf("dropped = %v, want 3 no_cookie and 1 malformed", st.Dropped)
	}
	// Error texts and shapes as rtpengine 10.5.3.5 answered the same
	// datagrams on loopback, except where noted.
	tests := []struct{ in, want string }{
		{"c1 ", "c1 d6:result5:error12:error-reason25:Invalid data (no payload)e"},
		{"c2 le", "c2 d6:result5:error12:error-reason22:Invalid NG data formate"},
		{"c2b i5e", "c2b d6:result5:error12:error-reason22:Invalid NG data formate"},
		{"c3 de", `c3 d6:result5:error12:error-reason36:Dictionary contains no key "command"e`},
		{"c4 d7:commandi1ee", `c4 d6:result5:error12:error-reason36:Dictionary contains no key "command"e`},
		{`c8 ["ping"]`, "c8 d6:result5:error12:error-reason22:Invalid NG data formate"},
		{`c10 {"command":"fnord"}`, `c10 {"result":"error","error-reason":"Unrecognized command"}`},
		// rtpengine answers a truncated dictionary as if it were complete
		// and takes duplicate keys; srtpgw refuses both, and says why.
		{"c5 d7:command4:ping", "c5 d6:result5:error12:error-reason47:Could not decode bencode dictionary (truncated)e"},
		{"c6 d1:ai1e1:ai1ee", "c6 d6:result5:error12:error-reason74:Could not decode bencode dictionary (duplicate dictionary key at offset 7)e"},
		{`c7 {"command":`, `c7 {"result":"error","error-reason":"Failed to parse JSON document (truncated)"}`},
		{"c9 d1:a" + strings.Repeat("l", 40) + strings.Repeat("e", 40) + "e",
			"c9 d6:result5:error12:error-reason59:Could not decode bencode dictionary (nesting depth over 32)e"},
	}
	for _, tt := range tests {
		if got := roundTrip(t, s, tt.in); got != tt.want {
			t.Errorf("%q\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestMessageSizeBound(t *testing.T) {
	s := NewServer(newFakeEngine(), Config{MaxMessage: 100})
	big := "c d7:command4:ping3:pad" + fmt.Sprintf("%d:%s", 80, strings.Repeat("x", 80)) + "e"
	if got := s.Handle(context.Background(), []byte(big), loopClient); got != nil {
		t.Fatalf("%d-byte message answered: %q", len(big), got)
	}
	if n := s.Stats().Dropped[DropTooLarge]; n != 1 {
		t.Fatalf("too_large = %d, want 1", n)
	}
	if got := roundTrip(t, s, "c d7:command4:pinge"); got != "c d6:result4:ponge" {
		t.Fatalf("small message: %q", got)
	}
	// The default is the UDP maximum; a 1 MB message costs one length check.
	d := NewServer(newFakeEngine(), Config{})
	if got := d.Handle(context.Background(), make([]byte, 1<<20), loopClient); got != nil {
		t.Fatal("1 MB message answered")
	}
}

func TestAllowlist(t *testing.T) {
	ev := &fakeEvents{}
	e := newFakeEngine()
	s := NewServer(e, Config{Events: ev, Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}})
	ping := []byte("c d7:command4:pinge")
	outsider := netip.MustParseAddrPort("192.0.2.7:5060")
	for range 1000 { // a flood
		if got := s.Handle(context.Background(), ping, outsider); got != nil {
			t.Fatalf("outsider got %q", got)
		}
	}
	if got := s.Handle(context.Background(), ping, loopClient); got != nil {
		t.Fatal("loopback is not allowed once Allow is set, yet got a reply")
	}
	for _, c := range []string{"10.1.2.3:5060", "[::ffff:10.1.2.3]:5060"} {
		if got := s.Handle(context.Background(), ping, netip.MustParseAddrPort(c)); string(got) != "c d6:result4:ponge" {
			t.Errorf("%s: %q", c, got)
		}
	}
	st := s.Stats()
	if st.Dropped[DropNotAllowed] != 1001 {
		t.Errorf("not_allowed = %d, want 1001", st.Dropped[DropNotAllowed])
	}
	rejected, _ := ev.counts()
	if rejected != 2 {
		t.Errorf("ClientRejected called %d times for 2 sources, want 2 (rate-limited)", rejected)
	}
	if st.EventsSuppressed != 999 {
		t.Errorf("EventsSuppressed = %d, want 999", st.EventsSuppressed)
	}
}

func TestAllowDefaultLoopback(t *testing.T) {
	s := NewServer(newFakeEngine(), Config{})
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "127.9.9.9:1": true, "[::1]:1": true, "[::ffff:127.0.0.1]:1": true,
		"10.0.0.1:1": false, "[2001:db8::1]:1": false, "[fe80::1%eth0]:1": false,
	} {
		if got := s.allowed(netip.MustParseAddrPort(addr).Addr()); got != want {
			t.Errorf("allowed(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestOfferAnswer(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	offer := readTestdata(t, "b8-offer-request.bencode")
	got := string(s.Handle(context.Background(), offer, loopClient))
	if want := "1_2345_7 d3:sdp14:v=0\r\no=offer\r\n6:result2:oke"; got != want {
		t.Fatalf("offer reply %q, want %q", got, want)
	}
	answer := readTestdata(t, "b8-answer-request.bencode")
	got = string(s.Handle(context.Background(), answer, loopClient))
	if want := "1_2345_8 d3:sdp15:v=0\r\no=answer\r\n6:result2:oke"; got != want {
		t.Fatalf("answer reply %q, want %q", got, want)
	}
	if len(e.offers) != 1 || len(e.answers) != 1 {
		t.Fatalf("engine saw %d offers, %d answers", len(e.offers), len(e.answers))
	}
	if e.offers[0].CallID != b8CallID || e.answers[0].ToTag != "a6c85cf" || e.offers[0].Client != loopClient {
		t.Errorf("engine got offer %+v answer %+v", e.offers[0], e.answers[0])
	}
}

// The b.8 offer as JSON (b.8 shows both forms) is answered in JSON, keys
// in rtpengine's order.
func TestOfferJSON(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	d, err := Decode(payloadOf(readTestdata(t, "b8-offer-request.bencode")))
	if err != nil {
		t.Fatal(err)
	}
	got := roundTrip(t, s, "j1 "+string(EncodeJSON(d)))
	if want := `j1 {"sdp":"v=0\r\no=offer\r\n","result":"ok"}`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if len(e.offers) != 1 || e.offers[0].ICE != relay.ICEForce || e.offers[0].CallID != b8CallID {
		t.Fatalf("engine got %+v", e.offers)
	}
	got = roundTrip(t, s, `j2 {"command":"offer","call-id":"c","from-tag":"f"}`)
	if want := `j2 {"result":"error","error-reason":"No SDP body in message"}`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The b.8 reply SDPs encode to rtpengine's exact reply bytes: sdp first,
// then result.
func TestOfferReplyMatchesRtpengine(t *testing.T) {
	for _, n := range []string{"b8-offer-reply.bencode", "b8-answer-reply.bencode"} {
		want := readTestdata(t, n)
		d, err := Decode(payloadOf(want))
		if err != nil {
			t.Fatal(err)
		}
		e := newFakeEngine()
		e.offerSDP = d.Get("sdp").Bytes()
		s := NewServer(e, Config{})
		cookie := string(want[:bytes.IndexByte(want, ' ')])
		got := roundTrip(t, s, cookie+" d7:command5:offer3:sdp3:v=07:call-id1:c8:from-tag1:fe")
		if got != string(want) {
			t.Errorf("%s:\n got %q\nwant %q", n, got, want)
		}
	}
}

func TestOfferAnswerErrors(t *testing.T) {
	const base = "d7:command5:offer3:sdp3:v=07:call-id1:c8:from-tag1:f"
	const withLL = base + "8:supportsl10:load limitee"
	tests := []struct {
		name string
		msg  string
		err  error
		want string
	}{
		{"no sdp", "c d7:command5:offer7:call-id1:c8:from-tag1:fe", nil, "c d6:result5:error12:error-reason22:No SDP body in messagee"},
		{"no call-id", "c d7:command5:offer3:sdp3:v=08:from-tag1:fe", nil, "c d6:result5:error12:error-reason21:No call-id in messagee"},
		{"no from-tag", "c d7:command5:offer3:sdp3:v=07:call-id1:ce", nil, "c d6:result5:error12:error-reason22:No from-tag in messagee"},
		{"no to-tag", "c d7:command6:answer3:sdp3:v=07:call-id1:c8:from-tag1:fe", nil, "c d6:result5:error12:error-reason20:No to-tag in messagee"},
		{"bad transport", "c " + base + "18:transport-protocol3:RTPe", nil, `c d6:result5:error12:error-reason32:Unknown transport-protocol "RTP"e`},
		{"unknown call", "c " + base + "e", relay.ErrUnknownCall, "c d6:result5:error12:error-reason15:Unknown call-ide"},
		{"no ports", "c " + withLL, relay.ErrNoPorts, "c d6:result5:error12:error-reason16:Ran out of portse"},
		{"session limit", "c " + base + "e", relay.ErrSessionLimit, "c d6:result5:error12:error-reason30:Parallel session limit reachede"},
		{"load limit", "c " + withLL, relay.ErrSessionLimit, "c d6:result10:load limit7:message30:Parallel session limit reachede"},
		{"wrapped load limit", "c " + withLL, fmt.Errorf("allocating: %w", relay.ErrSessionLimit), "c d6:result10:load limit7:message30:Parallel session limit reachede"},
		{"bad request", "c " + base + "e", fmt.Errorf("%w: ICE=force is not supported yet", relay.ErrBadRequest),
			"c d6:result5:error12:error-reason43:bad request: ICE=force is not supported yete"},
		{"bad sdp", "c " + base + "e", relay.ErrBadSDP, "c d6:result5:error12:error-reason19:Failed to parse SDPe"},
		{"incomplete sdp", "c " + base + "e", relay.ErrIncompleteSDP, "c d6:result5:error12:error-reason28:Incomplete SDP specificatione"},
		{"engine no sdp", "c " + base + "e", relay.ErrNoSDP, "c d6:result5:error12:error-reason22:No SDP body in messagee"},
		{"policy", "c " + base + "e", &relay.PolicyError{Reason: "plain RTP upstream"}, "c d6:result5:error12:error-reason37:refused by policy: plain RTP upstreame"},
		{"shutting down", "c " + base + "e", relay.ErrShuttingDown, "c d6:result5:error12:error-reason48:srtpgw is shutting down and accepts no new callse"},
		{"unavailable", "c " + base + "e", relay.ErrUnavailable, "c d6:result5:error12:error-reason43:srtpgw is not ready: it cannot record callse"},
		{"cancelled", "c " + base + "e", context.Canceled, "c d6:result5:error12:error-reason37:Request cancelled before it completede"},
		{"unknown error", "c " + base + "e", errors.New("open /var/lib/x: permission denied"), "c d6:result5:error12:error-reason35:Internal error (see the srtpgw log)e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeEngine()
			e.offerErr, e.answerErr = tt.err, tt.err
			s := NewServer(e, Config{})
			if got := roundTrip(t, s, tt.msg); got != tt.want {
				t.Fatalf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPolicyErrorIsAudited(t *testing.T) {
	ev := &fakeEvents{}
	e := newFakeEngine()
	e.offerErr = fmt.Errorf("offer: %w", &relay.PolicyError{Reason: "sha-1 fingerprint"})
	s := NewServer(e, Config{Events: ev})
	roundTrip(t, s, "c d7:command5:offer3:sdp3:v=07:call-id4:call8:from-tag1:fe")
	if len(ev.refused) != 1 || ev.refused[0] != "offer|call|sha-1 fingerprint" {
		t.Fatalf("CommandRefused calls %q", ev.refused)
	}
	st := s.Stats()
	if st.Refused != 1 || st.Requests[RequestKey{"offer", ResultRefused}] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDisabledCommands(t *testing.T) {
	ev := &fakeEvents{}
	e := newFakeEngine()
	s := NewServer(e, Config{Events: ev})
	var want int
	for _, c := range commandList {
		if c.kind != cmdDisabled {
			continue
		}
		want++
		msg := fmt.Sprintf("c%d d7:command%d:%s7:call-id2:ide", want, len(c.name), c.name)
		reason := c.name + " is disabled by policy: " + c.why
		exp := fmt.Sprintf("c%d d6:result5:error12:error-reason%d:%se", want, len(reason), reason)
		if got := roundTrip(t, s, msg); got != exp {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, exp)
		}
	}
	if got := roundTrip(t, s, "x d7:command15:start recordinge"); got != "x d6:result5:error12:error-reason75:start recording is disabled by policy: srtpgw never copies or injects mediae" {
		t.Errorf("start recording: %q", got)
	}
	// Folded spelling is still refused and audited.
	if got := roundTrip(t, s, "y d7:command15:Start-Recordinge"); !strings.Contains(got, "disabled by policy") {
		t.Errorf("Start-Recording: %q", got)
	}
	want += 2
	if _, refused := ev.counts(); refused != want {
		t.Errorf("CommandRefused called %d times, want %d", refused, want)
	}
	if ev.refused[0] != "start recording|id|start recording is disabled by policy: srtpgw never copies or injects media" {
		t.Errorf("first event %q", ev.refused[0])
	}
	if st := s.Stats(); st.Refused != uint64(want) || st.Requests[RequestKey{"start recording", ResultRefused}] != 3 {
		t.Errorf("Refused = %d, want %d; requests %v", st.Refused, want, st.Requests)
	}
	if len(e.offers)+len(e.deletes)+len(e.queries) != 0 {
		t.Error("a disabled command reached the engine")
	}
}

func TestUnsupportedAndUnknownCommands(t *testing.T) {
	ev := &fakeEvents{}
	s := NewServer(newFakeEngine(), Config{Events: ev})
	tests := []struct{ in, want string }{
		{"c d7:command10:block DTMFe", "c d6:result5:error12:error-reason37:block DTMF is not supported by srtpgwe"},
		{"c2 d7:command13:unblock mediae", "c2 d6:result5:error12:error-reason40:unblock media is not supported by srtpgwe"},
		{"c3 d7:command5:fnorde", "c3 d6:result5:error12:error-reason20:Unrecognized commande"}, // rtpengine 10.5's exact bytes
		{"c4 d7:command0:e", "c4 d6:result5:error12:error-reason20:Unrecognized commande"},
	}
	for _, tt := range tests {
		if got := roundTrip(t, s, tt.in); got != tt.want {
			t.Errorf("%q\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
	if _, refused := ev.counts(); refused != 0 {
		t.Errorf("%d refusal events for harmless commands", refused)
	}
	if n := s.Stats().Requests[RequestKey{cmdUnknown, ResultError}]; n != 2 {
		t.Errorf("unknown command count %d, want 2", n)
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		info *relay.CallInfo
		err  error
		want string
	}{
		{"unknown call", "c d7:command6:delete7:call-id1:x8:from-tag1:fe", nil, relay.ErrUnknownCall,
			"c d7:warning38:Call-ID not found or tags didn't match6:result2:oke"},
		{"unknown call fatal", "c d7:command6:delete7:call-id1:x5:flagsl5:fatalee", nil, relay.ErrUnknownCall,
			"c d6:result5:error12:error-reason38:Call-ID not found or tags didn't matche"},
		{"no call-id", "c d7:command6:deletee", nil, nil, "c d6:result5:error12:error-reason21:No call-id in messagee"},
		{"no stats", "c d7:command6:delete7:call-id1:xe", nil, nil, "c d6:result2:oke"},
		{"stats", "c d7:command6:delete7:call-id1:xe", &relay.CallInfo{CallID: "x", RTP: relay.Counters{Packets: 5, Bytes: 860}}, nil,
			"c d7:createdi0e10:created_usi0e11:last signali0e4:SSRCde4:tagsde6:totalsd3:RTPd7:packetsi5e5:bytesi860e6:errorsi0ee4:RTCPd7:packetsi0e5:bytesi0e6:errorsi0eee6:result2:oke"},
		{"engine error", "c d7:command6:delete7:call-id1:xe", nil, relay.ErrShuttingDown,
			"c d6:result5:error12:error-reason48:srtpgw is shutting down and accepts no new callse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeEngine()
			e.deleteInfo, e.deleteErr = tt.info, tt.err
			s := NewServer(e, Config{})
			if got := roundTrip(t, s, tt.msg); got != tt.want {
				t.Fatalf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	// Kamailio's delete: from-tag of whoever sent the BYE, delete delay
	// as an integer.
	e := newFakeEngine()
	s := NewServer(e, Config{})
	roundTrip(t, s, "c d7:command6:delete7:call-id1:x8:from-tag2:ft6:to-tag2:tt10:via-branch2:vb12:delete delayi0ee")
	want := relay.DeleteRequest{CallID: "x", FromTag: "ft", ToTag: "tt", ViaBranch: "vb", HasDelay: true, Client: loopClient}
	if len(e.deletes) != 1 || *e.deletes[0] != want {
		t.Fatalf("engine got %+v, want %+v", e.deletes, want)
	}
}

func TestQuery(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	if got := roundTrip(t, s, "c d7:command5:query7:call-id1:xe"); got != "c d6:result5:error12:error-reason15:Unknown call-ide" {
		t.Errorf("unknown: %q", got)
	}
	if got := roundTrip(t, s, "c2 d7:command5:querye"); got != "c2 d6:result5:error12:error-reason21:No call-id in messagee" {
		t.Errorf("no call-id: %q", got)
	}
	created := time.Unix(1795772633, 563125000)
	e.queryInfo = &relay.CallInfo{CallID: "x", Created: created, LastSignal: created.Add(8 * time.Second),
		Tags: []relay.TagInfo{{Tag: "ft", Label: "phone", Created: created}},
		RTCP: relay.Counters{Packets: 1, Bytes: 2, Errors: 3}}
	want := "c3 d7:createdi1795772633e10:created_usi563125e11:last signali1795772641e4:SSRCde" +
		"4:tagsd2:ftd3:tag2:ft5:label5:phone7:createdi1795772633e6:mediasleee" +
		"6:totalsd3:RTPd7:packetsi0e5:bytesi0e6:errorsi0ee4:RTCPd7:packetsi1e5:bytesi2e6:errorsi3eee6:result2:oke"
	if got := roundTrip(t, s, "c3 d7:command5:query7:call-id1:x8:from-tag2:ft6:to-tag2:tte"); got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	if q := e.queries[len(e.queries)-1]; *q != (relay.QueryRequest{CallID: "x", FromTag: "ft", ToTag: "tt"}) {
		t.Errorf("engine got %+v", q)
	}
}

func TestList(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	if got := roundTrip(t, s, "c d7:command4:liste"); got != "c d5:callsle6:result2:oke" {
		t.Errorf("empty: %q", got)
	}
	e.calls = []string{"a", "b", "c"}
	if got := roundTrip(t, s, "c2 d7:command4:list5:limiti2ee"); got != "c2 d5:callsl1:a1:be6:result2:oke" {
		t.Errorf("limit 2: %q", got)
	}
	if got := roundTrip(t, s, "c3 d7:command4:list5:limiti-1ee"); got != "c3 d6:result5:error12:error-reason27:invalid limit, must be >= 0e" {
		t.Errorf("limit -1: %q", got)
	}
	if e.limits[0] != 32 || e.limits[1] != 2 {
		t.Errorf("engine limits %v, want [32 2]", e.limits)
	}
}

func TestStatistics(t *testing.T) {
	e := newFakeEngine()
	e.stats = relay.Statistics{Uptime: 3725 * time.Second, CurrentSessions: 3, TotalSessions: 10, TimeoutSessions: 1,
		RejectedSessions: 2, AverageCallDuration: 61*time.Second + 5*time.Millisecond, Packets: 100, Bytes: 17200, Errors: 4}
	s := NewServer(e, Config{})
	want := "c d10:statisticsd17:currentstatisticsd11:sessionsowni3e15:sessionsforeigni0e13:sessionstotali3e15:transcodedmediai0ee" +
		"15:totalstatisticsd6:uptime4:372515:managedsessionsi10e16:rejectedsessionsi2e15:timeoutsessionsi1e" +
		"14:relayedpacketsi100e19:relayedpacketerrorsi4e12:relayedbytesi17200e15:avgcallduration9:61.005000ee" +
		"6:result2:oke"
	if got := roundTrip(t, s, "c d7:command10:statisticse"); got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}

func TestEnginePanicIsContained(t *testing.T) {
	e := newFakeEngine()
	e.panicOffer = true
	var logs bytes.Buffer
	s := NewServer(e, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	msg := "c d7:command5:offer3:sdp3:v=07:call-id1:c8:from-tag1:fe"
	want := "c d6:result5:error12:error-reason35:Internal error (see the srtpgw log)e"
	if got := roundTrip(t, s, msg); got != want {
		t.Fatalf("got %q", got)
	}
	if got := roundTrip(t, s, msg); got != want { // the cached reply
		t.Fatalf("retransmission got %q", got)
	}
	if strings.Contains(logs.String(), "SECRET") {
		t.Fatal("the panic value reached the log")
	}
	if !strings.Contains(logs.String(), "panic") {
		t.Fatal("the panic was not logged")
	}
}

func TestStatsCounters(t *testing.T) {
	e := newFakeEngine()
	s := NewServer(e, Config{})
	roundTrip(t, s, "a d7:command4:pinge")
	roundTrip(t, s, "a d7:command4:pinge") // duplicate: a cache hit, not a request
	roundTrip(t, s, "b d7:command5:querye")
	roundTrip(t, s, "c d7:command3:fooe")
	roundTrip(t, s, "d xx")
	st := s.Stats()
	want := map[RequestKey]uint64{
		{"ping", ResultPong}: 1, {"query", ResultError}: 1, {cmdUnknown, ResultError}: 1, {cmdInvalid, ResultError}: 1,
	}
	if fmt.Sprint(st.Requests) != fmt.Sprint(want) {
		t.Errorf("Requests = %v, want %v", st.Requests, want)
	}
	if st.CacheHits != 1 || st.CacheEntries != 4 {
		t.Errorf("CacheHits %d CacheEntries %d, want 1 and 4", st.CacheHits, st.CacheEntries)
	}
	h := st.Durations["ping"]
	if h.Count != 1 || len(h.Cumulative) != len(DurationBuckets) || h.Cumulative[len(h.Cumulative)-1] != 1 {
		t.Errorf("ping histogram %+v", h)
	}
	if _, ok := st.Durations["offer"]; ok {
		t.Error("histogram for a command never seen")
	}
	for _, r := range DropReasons() {
		if _, ok := st.Dropped[r]; !ok {
			t.Errorf("Dropped lacks %q", r)
		}
	}
	if len(Commands()) != numCommands {
		t.Errorf("Commands() has %d entries, counters %d", len(Commands()), numCommands)
	}
}

func TestDebugLogRedactsKeys(t *testing.T) {
	var logs bytes.Buffer
	e := newFakeEngine()
	e.offerSDP = []byte("v=0\r\na=ice-pwd:ourpassword\r\n")
	s := NewServer(e, Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	sdp := "v=0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"
	roundTrip(t, s, fmt.Sprintf("c d7:command5:offer3:sdp%d:%s7:call-id1:c8:from-tag1:fe", len(sdp), sdp))
	out := logs.String()
	for _, secret := range []string{"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", "ourpassword"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "a=crypto:[REDACTED]") || !strings.Contains(out, "a=ice-pwd:[REDACTED]") {
		t.Fatalf("dump not logged with redaction:\n%s", out)
	}
}
