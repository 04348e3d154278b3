package relay

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/udp/udptest"
)

// fakeClock is a settable clock for timeout tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memRelay is a relay on the in-memory network with a fake clock; DTLS
// never completes there (no peer), so the handshake bound is set far out.
func memRelay(t *testing.T, mod func(*Config)) (*Relay, *recorder, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Interfaces = []Interface{
		{Name: "lan", Addr: netip.MustParseAddr("192.168.1.2"), Advertised: netip.MustParseAddr("192.168.1.2")},
		{Name: "wan", Addr: netip.MustParseAddr("10.9.0.2"), Advertised: netip.MustParseAddr("10.9.0.2")},
	}
	cfg.PortMin, cfg.PortMax = 30000, 30099
	cfg.Certs = certSource{sharedCert(t)}
	cfg.Network = udptest.New()
	cfg.Now = clk.Now
	cfg.Events = rec
	cfg.DeleteDelay = 0
	cfg.HandshakeTimeout = time.Hour
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, rec, clk
}

// cloudAnswerActive makes the upstream the DTLS client, so srtpgw waits as
// server and nothing fails on the in-memory network.
var cloudAnswerActive = strings.Replace(cloudAnswer, "a=setup:passive", "a=setup:active", 1)

func offerAnswer(t *testing.T, r *Relay, id string) {
	t.Helper()
	ctx := context.Background()
	req := phoneToCloud(phoneOffer)
	req.CallID = id
	if _, err := r.Offer(ctx, req); err != nil {
		t.Fatalf("offer %s: %v", id, err)
	}
	if _, err := r.Answer(ctx, &Request{CallID: id, FromTag: "ft-phone", ToTag: "tt-cloud", SDP: []byte(cloudAnswerActive)}); err != nil {
		t.Fatalf("answer %s: %v", id, err)
	}
}

func endedWith(t *testing.T, rec *recorder, want EndReason) {
	t.Helper()
	ev := rec.snapshot()
	if len(ev.ended) != 1 || ev.ended[0].Reason != want {
		t.Fatalf("ended calls: %+v, want one with %s", ev.ended, want)
	}
}

func TestTimeoutEndsCall(t *testing.T) {
	r, rec, clk := memRelay(t, nil)
	offerAnswer(t, r, "t1")
	clk.Add(59 * time.Second)
	r.reap()
	if len(r.List(10)) != 1 {
		t.Fatal("call ended before its timeout")
	}
	clk.Add(2 * time.Second)
	r.reap()
	endedWith(t, rec, EndTimeout)
	st := r.Statistics()
	if st.CurrentSessions != 0 || st.TimeoutSessions != 1 {
		t.Fatalf("statistics after timeout: %+v", st)
	}
	// Its ports rest in quarantine, then return.
	if st.PortsFree == st.PortsTotal {
		t.Fatal("ports returned without quarantine")
	}
	clk.Add(r.cfg.PortQuarantine)
	if st := r.Statistics(); st.PortsFree != st.PortsTotal {
		t.Fatalf("ports not back after quarantine: %d of %d free", st.PortsFree, st.PortsTotal)
	}
}

func TestSilentTimeoutOnHold(t *testing.T) {
	r, rec, clk := memRelay(t, func(c *Config) { c.SilentTimeout = 10 * time.Minute })
	offerAnswer(t, r, "hold")
	hold := strings.Replace(strings.Replace(phoneOffer, "a=sendrecv", "a=sendonly", 1), "1001 1", "1001 2", 1)
	req := phoneToCloud(hold)
	req.CallID = "hold"
	if _, err := r.Offer(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	clk.Add(5 * time.Minute)
	r.reap()
	if len(r.List(10)) != 1 {
		t.Fatal("held call ended on the media timeout")
	}
	clk.Add(6 * time.Minute)
	r.reap()
	endedWith(t, rec, EndSilentTimeout)
}

func TestFinalTimeout(t *testing.T) {
	r, rec, clk := memRelay(t, func(c *Config) { c.FinalTimeout = 30 * time.Second })
	offerAnswer(t, r, "final")
	clk.Add(31 * time.Second)
	r.reap()
	endedWith(t, rec, EndFinalTimeout)
}

func TestDeleteDelay(t *testing.T) {
	r, rec, clk := memRelay(t, func(c *Config) { c.DeleteDelay = 30 * time.Second })
	offerAnswer(t, r, "dd")
	info, err := r.Delete(context.Background(), &DeleteRequest{CallID: "dd", FromTag: "tt-cloud"})
	if err != nil || info.CallID != "dd" {
		t.Fatalf("delete: %v", err)
	}
	r.reap()
	if _, err := r.Query(context.Background(), &QueryRequest{CallID: "dd"}); err != nil {
		t.Fatal("call gone before its delete delay")
	}
	clk.Add(31 * time.Second)
	r.reap()
	endedWith(t, rec, EndDelete)
	// An explicit delete delay of 0 ends at once.
	offerAnswer(t, r, "dd0")
	if _, err := r.Delete(context.Background(), &DeleteRequest{CallID: "dd0", HasDelay: true}); err != nil {
		t.Fatal(err)
	}
	if len(r.List(10)) != 0 {
		t.Fatal("delete delay 0 did not end the call")
	}
}

func TestDeleteUnknown(t *testing.T) {
	r, _, _ := memRelay(t, nil)
	offerAnswer(t, r, "x")
	for _, req := range []*DeleteRequest{
		{CallID: "nope"},
		{CallID: "x", FromTag: "stranger"},
	} {
		if _, err := r.Delete(context.Background(), req); !errors.Is(err, ErrUnknownCall) {
			t.Errorf("delete %+v: %v, want ErrUnknownCall", req, err)
		}
	}
}

// TestPortExhaustion: with room for two calls, a third offer gets ErrNoPorts
// and leaves nothing allocated; service resumes once a call ends.
func TestPortExhaustion(t *testing.T) {
	r, _, clk := memRelay(t, func(c *Config) { c.PortMin, c.PortMax = 30000, 30003 })
	offerAnswer(t, r, "a")
	offerAnswer(t, r, "b")
	before := r.Statistics()
	req := phoneToCloud(phoneOffer)
	req.CallID = "c"
	if _, err := r.Offer(context.Background(), req); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third offer: %v, want ErrNoPorts", err)
	}
	after := r.Statistics()
	if after.PortsFree != before.PortsFree || after.CurrentSessions != 2 || after.RejectedSessions != 1 {
		t.Fatalf("partial allocation left behind: before %+v after %+v", before, after)
	}
	if _, err := r.Delete(context.Background(), &DeleteRequest{CallID: "a"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(r.cfg.PortQuarantine)
	offerAnswer(t, r, "c")
}

// TestPortExhaustionTwoMedias: the second m= line of an offer fails to get
// ports; the first one's pair is given back at once.
func TestPortExhaustionTwoMedias(t *testing.T) {
	r, _, _ := memRelay(t, func(c *Config) { c.PortMin, c.PortMax = 30000, 30003 })
	offerAnswer(t, r, "a")
	before := r.Statistics()
	req := phoneToCloud(phoneOfferTwoM)
	req.CallID = "two-m"
	if _, err := r.Offer(context.Background(), req); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("offer: %v, want ErrNoPorts", err)
	}
	if st := r.Statistics(); st.PortsFree != before.PortsFree {
		t.Fatalf("%d ports free after a failed offer, %d before", st.PortsFree, before.PortsFree)
	}
}

func TestSessionLimit(t *testing.T) {
	r, _, _ := memRelay(t, func(c *Config) { c.MaxSessions = 1 })
	offerAnswer(t, r, "one")
	req := phoneToCloud(phoneOffer)
	req.CallID = "two"
	if _, err := r.Offer(context.Background(), req); !errors.Is(err, ErrSessionLimit) {
		t.Fatalf("second call: %v, want ErrSessionLimit", err)
	}
	// A re-offer on the existing call is not a new session.
	req.CallID = "one"
	if _, err := r.Offer(context.Background(), req); err != nil {
		t.Fatalf("re-offer at the limit: %v", err)
	}
}

func TestAdmissionRefusal(t *testing.T) {
	r, _, _ := memRelay(t, nil)
	r.SetAdmission(func() error { return errors.New("audit log unwritable") })
	if _, err := r.Offer(context.Background(), phoneToCloud(phoneOffer)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("offer: %v, want ErrUnavailable", err)
	}
}

func TestShutdownRefusesOffersAndEndsCalls(t *testing.T) {
	r, rec, _ := memRelay(t, nil)
	offerAnswer(t, r, "live")
	r.Drain()
	req := phoneToCloud(phoneOffer)
	req.CallID = "new"
	if _, err := r.Offer(context.Background(), req); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("offer while draining: %v", err)
	}
	r.Close()
	endedWith(t, rec, EndShutdown)
}

// TestPolicyRefusals is the downgrade matrix (security requirement A7):
// each would weaken the upstream leg and is refused with a reason.
func TestPolicyRefusals(t *testing.T) {
	sha1Answer := strings.Replace(cloudAnswerActive, "a=fingerprint:sha-256", "a=fingerprint:sha-1", 1)
	sha1Answer = strings.Replace(sha1Answer, ":11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n", "\r\n", 1)
	plainAnswer := strings.Replace(cloudAnswerActive, "UDP/TLS/RTP/SAVPF", "RTP/AVP", 1)
	cases := []struct {
		name   string
		offer  func(*Request)
		answer string
		want   string
		cfg    func(*Config)
	}{
		{"phone media at a public address", func(r *Request) {
			r.SDP = []byte(strings.ReplaceAll(phoneOffer, "10.0.0.50", "203.0.113.50"))
		}, "", "outside --phone-networks", nil},
		{"phone media-address flag pointing outside", func(r *Request) {
			r.MediaAddress = netip.MustParseAddr("198.51.100.7")
		}, "", "outside --phone-networks", nil},
		{"upstream outside --upstream-networks", nil, cloudAnswerActive, "outside --upstream-networks",
			func(c *Config) { c.UpstreamNetworks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")} }},
		{"plain upstream", func(r *Request) { r.Transport = TransportUnknown }, "", "plain RTP/AVP on the upstream leg", nil},
		{"plain upstream explicit", func(r *Request) { r.Transport = TransportRTPAVP }, "", "plain RTP/AVP", nil},
		{"SDES transport", func(r *Request) { r.Transport = TransportRTPSAVP }, "", "SDES", nil},
		{"SDES flag", func(r *Request) { r.SDES = []string{"only-AES_CM_128_HMAC_SHA1_80"} }, "", "SDES is disabled", nil},
		{"SDES unencrypted", func(r *Request) { r.SDES = []string{"unencrypted_srtp"} }, "", "SDES is disabled", nil},
		{"OSRTP", func(r *Request) { r.OSRTP = []string{"offer"} }, "", "OSRTP", nil},
		{"ICE force-relay", func(r *Request) { r.ICE = ICEForceRelay }, "", "TURN", nil},
		{"DTLS off", func(r *Request) { r.DTLS = DTLSOff }, "", "DTLS=off", nil},
		{"SDES phone offer", func(r *Request) { r.SDP = []byte(strings.Replace(phoneOffer, "RTP/AVP", "RTP/SAVP", 1)) }, "", "SDES", nil},
		{"plain answer", nil, plainAnswer, "plain RTP/AVP", nil},
		{"sha-1 fingerprint", nil, sha1Answer, "sha-1 is not allowed", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := memRelay(t, tc.cfg)
			req := phoneToCloud(phoneOffer)
			if tc.offer != nil {
				tc.offer(req)
			}
			_, err := r.Offer(context.Background(), req)
			if tc.answer != "" {
				if err != nil {
					t.Fatal(err)
				}
				_, err = r.Answer(context.Background(), &Request{CallID: "golden", FromTag: "ft-phone", ToTag: "tt", SDP: []byte(tc.answer)})
			}
			if !IsPolicy(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a policy refusal mentioning %q", err, tc.want)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	ctx := context.Background()
	r, _, _ := memRelay(t, nil)
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"no call-id", func() error { _, err := r.Offer(ctx, &Request{FromTag: "a", SDP: []byte(phoneOffer)}); return err }, ErrNoCallID},
		{"no from-tag", func() error { _, err := r.Offer(ctx, &Request{CallID: "x", SDP: []byte(phoneOffer)}); return err }, ErrNoFromTag},
		{"no sdp", func() error { _, err := r.Offer(ctx, &Request{CallID: "x", FromTag: "a"}); return err }, ErrNoSDP},
		{"garbage sdp", func() error {
			_, err := r.Offer(ctx, &Request{CallID: "x", FromTag: "a", SDP: []byte("hello world"), Transport: TransportDTLSSAVP})
			return err
		}, ErrBadSDP},
		{"no m= line", func() error {
			_, err := r.Offer(ctx, &Request{CallID: "x", FromTag: "a", SDP: []byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n"), Transport: TransportDTLSSAVP})
			return err
		}, ErrIncompleteSDP},
		{"oversized sdp", func() error {
			_, err := r.Offer(ctx, &Request{CallID: "x", FromTag: "a", SDP: []byte(phoneOffer + strings.Repeat("a=x:y\r\n", MaxSDPSize/7)), Transport: TransportDTLSSAVP})
			return err
		}, ErrBadSDP},
		{"unknown interface", func() error {
			req := phoneToCloud(phoneOffer)
			req.ToInterface = "dmz"
			_, err := r.Offer(ctx, req)
			return err
		}, ErrBadRequest},
		{"answer unknown call", func() error {
			_, err := r.Answer(ctx, &Request{CallID: "nope", FromTag: "a", ToTag: "b", SDP: []byte(cloudAnswer)})
			return err
		}, ErrUnknownCall},
		{"answer without to-tag", func() error {
			_, err := r.Answer(ctx, &Request{CallID: "nope", FromTag: "a", SDP: []byte(cloudAnswer)})
			return err
		}, ErrNoToTag},
		{"query unknown", func() error { _, err := r.Query(ctx, &QueryRequest{CallID: "nope"}); return err }, ErrUnknownCall},
	}
	for _, tc := range cases {
		if err := tc.do(); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := len(r.List(10)); n != 0 {
		t.Fatalf("%d calls left after refused requests", n)
	}
}

func TestQueryAndList(t *testing.T) {
	r, _, _ := memRelay(t, nil)
	offerAnswer(t, r, "q1")
	offerAnswer(t, r, "q2")
	if ids := r.List(1); len(ids) != 1 {
		t.Fatalf("List(1) = %v", ids)
	}
	info, err := r.Query(context.Background(), &QueryRequest{CallID: "q1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Tags) != 2 || info.Tags[0].Tag != "ft-phone" || info.Tags[1].Tag != "tt-cloud" {
		t.Fatalf("tags: %+v", info.Tags)
	}
	up := info.Tags[1].Medias[0]
	if up.Protocol != "UDP/TLS/RTP/SAVPF" || len(up.Streams) != 1 {
		t.Fatalf("upstream media: %+v", up)
	}
	if got := up.Streams[0].Endpoint.String(); got != "203.0.113.9:50000" {
		t.Fatalf("upstream endpoint %s", got)
	}
	if ph := info.Tags[0].Medias[0]; len(ph.Streams) != 2 || ph.Streams[0].Endpoint.String() != "10.0.0.50:16384" ||
		ph.Streams[1].Endpoint.String() != "10.0.0.50:16385" {
		t.Fatalf("phone media: %+v", ph)
	}
}

// TestTimeoutOneSidedCall: after the answer, the call ends when one party
// has been silent for --timeout, even while the other keeps sending.
func TestTimeoutOneSidedCall(t *testing.T) {
	r, rec, clk := memRelay(t, nil)
	offerAnswer(t, r, "one-sided")
	r.mu.Lock()
	phone := r.calls["one-sided"].legs[0].medias[0].rtp
	r.mu.Unlock()
	for range 7 {
		clk.Add(10 * time.Second)
		phone.stats.lastRx.Store(clk.Now().UnixNano()) // the phone keeps talking
		r.reap()
	}
	endedWith(t, rec, EndTimeout)
}

// TestKeyLimitEndsCall: a stream whose SRTP key reached its limit (RFC 3711
// §9.2) ends the call instead of carrying on unprotected.
func TestKeyLimitEndsCall(t *testing.T) {
	r, rec, _ := memRelay(t, nil)
	offerAnswer(t, r, "exhausted")
	r.mu.Lock()
	r.calls["exhausted"].legs[1].medias[0].rtp.stats.drops[DropKeyLimit].Add(1)
	r.mu.Unlock()
	r.reap()
	endedWith(t, rec, EndKeyLimit)
}

// TestReapAllocatesNothing: the reaper walks every live call every second,
// so a pass over healthy calls must not allocate (it once built a slice of
// streams per call per check, the daemon's second-largest steady-state
// allocation at 400 calls).
func TestReapAllocatesNothing(t *testing.T) {
	r, _, _ := memRelay(t, nil)
	offerAnswer(t, r, "a1")
	offerAnswer(t, r, "a2")
	if a := testing.AllocsPerRun(100, r.reap); a != 0 {
		t.Fatalf("reap over live calls: %.1f allocations per pass", a)
	}
	if len(r.List(10)) != 2 {
		t.Fatal("reap ended a live call")
	}
}
