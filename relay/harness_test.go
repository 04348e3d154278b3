package relay

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/sim"
)

// Loopback addresses of the test topology (all of 127/8 is local on Linux).
var (
	lanAddr   = netip.MustParseAddr("127.0.0.2")  // srtpgw, phone side
	wanAddr   = netip.MustParseAddr("127.0.0.3")  // srtpgw, upstream side
	phoneAddr = netip.MustParseAddr("127.0.0.10") // the desk phone
	upAddr    = netip.MustParseAddr("127.0.0.20") // the cloud PBX
	rogueAddr = netip.MustParseAddr("127.0.0.66") // an attacker
)

// recorder is an EventSink that keeps everything for assertions.
type recorder struct {
	mu       sync.Mutex
	started  []CallRecord
	dtlsOK   []DTLSRecord
	dtlsFail []string
	ended    []EndRecord
	security []string
}

func (r *recorder) CallStarted(c CallRecord) {
	r.mu.Lock()
	r.started = append(r.started, c)
	r.mu.Unlock()
}
func (r *recorder) DTLSEstablished(_ CallRecord, d DTLSRecord) {
	r.mu.Lock()
	r.dtlsOK = append(r.dtlsOK, d)
	r.mu.Unlock()
}
func (r *recorder) DTLSFailed(_ CallRecord, _ DTLSRecord, reason string) {
	r.mu.Lock()
	r.dtlsFail = append(r.dtlsFail, reason)
	r.mu.Unlock()
}
func (r *recorder) CallEnded(_ CallRecord, e EndRecord) {
	r.mu.Lock()
	r.ended = append(r.ended, e)
	r.mu.Unlock()
}
func (r *recorder) Security(kind string, _ CallRecord, _ string, _ uint64) {
	r.mu.Lock()
	r.security = append(r.security, kind)
	r.mu.Unlock()
}

func (r *recorder) snapshot() recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorder{
		started:  append([]CallRecord(nil), r.started...),
		dtlsOK:   append([]DTLSRecord(nil), r.dtlsOK...),
		dtlsFail: append([]string(nil), r.dtlsFail...),
		ended:    append([]EndRecord(nil), r.ended...),
		security: append([]string(nil), r.security...),
	}
}

type certSource struct{ c *crypto.Certificate }

func (s certSource) Current() *crypto.Certificate { return s.c }

var (
	testCertOnce sync.Once
	testCert     *crypto.Certificate
)

func sharedCert(t testing.TB) *crypto.Certificate {
	testCertOnce.Do(func() {
		var err error
		testCert, err = crypto.GenerateCertificate(24 * time.Hour)
		if err != nil {
			t.Fatal(err)
		}
	})
	return testCert
}

// newTestRelay builds a relay on real loopback sockets with a LAN and a WAN
// interface.
func newTestRelay(t testing.TB, mod func(*Config)) (*Relay, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Interfaces = []Interface{
		{Name: "lan", Addr: lanAddr, Advertised: lanAddr},
		{Name: "wan", Addr: wanAddr, Advertised: wanAddr},
	}
	cfg.PortMin, cfg.PortMax = 41000, 41999
	cfg.DeleteDelay = 0
	cfg.HandshakeTimeout = 5 * time.Second
	cfg.Certs = certSource{sharedCert(t)}
	cfg.Events = rec
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, rec
}

// testCall is one phone -> upstream call set up through a relay.
type testCall struct {
	r     *Relay
	phone *sim.Phone
	up    *sim.Upstream
	id    string
}

type callOpts struct {
	setup     string // upstream's a=setup in its answer: active or passive
	mux       bool
	transport Transport
	profiles  []dtls.SRTPProtectionProfile
	upCfg     func(*sim.UpstreamConfig)
	noConnect bool
}

// placeCall runs offer -> answer -> DTLS for one call.
func placeCall(t *testing.T, r *Relay, id string, o callOpts) *testCall {
	t.Helper()
	phone, err := sim.NewPhone(phoneAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(phone.Close)
	ucfg := sim.UpstreamConfig{Addr: upAddr, Setup: o.setup, Mux: o.mux, Profiles: o.profiles, Capture: true}
	if o.upCfg != nil {
		o.upCfg(&ucfg)
	}
	up, err := sim.NewUpstream(ucfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	tr := o.transport
	if tr == TransportUnknown {
		tr = TransportDTLSSAVP
	}
	var mux RTCPMux
	if o.mux {
		mux = RTCPMuxOffer
	}
	ctx := context.Background()
	offer, err := r.Offer(ctx, &Request{
		CallID: id, FromTag: "ft-phone", SDP: phone.OfferSDP(1), Transport: tr,
		FromInterface: "lan", ToInterface: "wan", RTCPMux: mux, Replace: ReplaceOrigin | ReplaceSessionConnection,
		SDES: []string{"off"},
	})
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	answer, err := up.Answer(offer)
	if err != nil {
		t.Fatalf("upstream answer: %v", err)
	}
	phoneSDP, err := r.Answer(ctx, &Request{CallID: id, FromTag: "ft-phone", ToTag: "tt-up", SDP: answer, RTCPMux: RTCPMuxDemux})
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	if err := phone.SetRemote(phoneSDP); err != nil {
		t.Fatal(err)
	}
	c := &testCall{r: r, phone: phone, up: up, id: id}
	if !o.noConnect {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := up.Connect(hctx, o.setup == "active"); err != nil {
			t.Fatalf("upstream DTLS: %v", err)
		}
		c.waitKeys(t)
	}
	return c
}

// waitKeys waits until srtpgw's side of every DTLS association has keys:
// the peer may finish its handshake a flight before srtpgw does.
func (c *testCall) waitKeys(t *testing.T) {
	t.Helper()
	eventually(t, 5*time.Second, "srtpgw has SRTP keys", func() bool {
		c.r.mu.Lock()
		defer c.r.mu.Unlock()
		call := c.r.calls[c.id]
		if call == nil {
			return false
		}
		_, up := call.phoneAndUpstream()
		for _, m := range up.medias {
			if m.rtp.session.Load() == nil || (!m.mux && m.rtcp.session.Load() == nil) {
				return false
			}
		}
		return true
	})
}

// stream returns one of the call's streams: leg 0 is the phone.
func (c *testCall) stream(t *testing.T, leg, component int) *Stream {
	t.Helper()
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	call := c.r.calls[c.id]
	if call == nil {
		t.Fatal("call gone")
	}
	m := call.legs[leg].medias[0]
	if component == 2 {
		return m.rtcp
	}
	return m.rtp
}

func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkNoLeak fails if goroutines outlive the test beyond the baseline.
func checkNoLeak(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left, baseline %d:\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
