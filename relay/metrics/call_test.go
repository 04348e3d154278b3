package metrics

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/sim"
)

// Loopback topology of the real-call test. The addresses differ from the
// relay package's own tests (127.0.0.2/3/10/20) so both can run at once.
var (
	lanAddr   = netip.MustParseAddr("127.0.0.72") // srtpgw, phone side
	wanAddr   = netip.MustParseAddr("127.0.0.73") // srtpgw, upstream side
	phoneAddr = netip.MustParseAddr("127.0.0.74") // the desk phone
	upAddr    = netip.MustParseAddr("127.0.0.75") // the cloud PBX
)

const (
	packetsEachWay = 40
	rtcpEachWay    = 3
	rtpSize        = 12 + 160 // RTP header + 20 ms of G.711
)

type certSource struct{ c *crypto.Certificate }

func (s certSource) Current() *crypto.Certificate { return s.c }

var (
	certOnce sync.Once
	cert     *crypto.Certificate
	certErr  error
)

func testCert(t *testing.T) *crypto.Certificate {
	certOnce.Do(func() { cert, certErr = crypto.GenerateCertificate(time.Hour) })
	if certErr != nil {
		t.Fatal(certErr)
	}
	return cert
}

// newTestRelay is the few lines of relay/harness_test.go this test needs:
// a relay on real loopback sockets with a LAN and a WAN interface.
func newTestRelay(t *testing.T) *relay.Relay {
	t.Helper()
	cfg := relay.DefaultConfig()
	cfg.Interfaces = []relay.Interface{
		{Name: "lan", Addr: lanAddr, Advertised: lanAddr},
		{Name: "wan", Addr: wanAddr, Advertised: wanAddr},
	}
	cfg.PortMin, cfg.PortMax = 44000, 44099
	cfg.DeleteDelay = 0
	cfg.HandshakeTimeout = 5 * time.Second
	cfg.Certs = certSource{testCert(t)}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// upstreamRTP is the upstream's plain RTP packet i.
func upstreamRTP(i int) []byte {
	pkt := make([]byte, rtpSize)
	pkt[0] = 0x80
	binary.BigEndian.PutUint16(pkt[2:], uint16(1000+i))
	binary.BigEndian.PutUint32(pkt[4:], uint32(160*i))
	binary.BigEndian.PutUint32(pkt[8:], 0xcafe0001)
	copy(pkt[12:], bytes.Repeat([]byte{0xd5}, 160))
	return pkt
}

// TestScrapeAfterRealCall drives one call through a real relay (offer,
// answer, DTLS-SRTP with a pion upstream, media both ways over loopback,
// delete) and checks what a scrape then says about it.
func TestScrapeAfterRealCall(t *testing.T) {
	r := newTestRelay(t)
	reg := NewRegistry(Sources{Relay: r}, BuildInfo{Version: "test"})
	before := gather(t, reg)
	if v, ok := value(before, "srtpgw_calls_started_total", nil); !ok || v != 0 {
		t.Fatalf("calls_started before any call = %v (present %v)", v, ok)
	}
	if v, _ := value(before, "srtpgw_ports_capacity", nil); v != 200 {
		t.Errorf("ports_capacity = %v, want 200 (100 ports on each of 2 interfaces)", v)
	}

	phone, err := sim.NewPhone(phoneAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	up, err := sim.NewUpstream(sim.UpstreamConfig{Addr: upAddr, Setup: "active", Mux: true})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()

	ctx := context.Background()
	const id = "metrics-call@test.invalid"
	offer, err := r.Offer(ctx, &relay.Request{
		CallID: id, FromTag: "ft-phone", SDP: phone.OfferSDP(1), Transport: relay.TransportDTLSSAVP,
		FromInterface: "lan", ToInterface: "wan", RTCPMux: relay.RTCPMuxOffer,
		Replace: relay.ReplaceOrigin | relay.ReplaceSessionConnection, SDES: []string{"off"},
	})
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	answer, err := up.Answer(offer)
	if err != nil {
		t.Fatalf("upstream answer: %v", err)
	}
	phoneSDP, err := r.Answer(ctx, &relay.Request{CallID: id, FromTag: "ft-phone", ToTag: "tt-up", SDP: answer, RTCPMux: relay.RTCPMuxDemux})
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	if err := phone.SetRemote(phoneSDP); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := up.Connect(hctx, true); err != nil {
		t.Fatalf("upstream DTLS: %v", err)
	}
	// The peer can finish a flight before srtpgw does; the relay counts
	// the handshake once its keys are stored.
	eventually(t, 5*time.Second, "srtpgw's DTLS handshake", func() bool {
		return r.Snapshot().Handshakes.Results["ok"] >= 1
	})
	mid := gather(t, reg)
	if v, _ := value(mid, "srtpgw_calls_active", nil); v != 1 {
		t.Errorf("calls_active during the call = %v, want 1", v)
	}

	var phoneBytes uint64
	for i := range packetsEachWay {
		pkt, err := phone.SendRTP(bytes.Repeat([]byte{0xd5}, 160))
		if err != nil {
			t.Fatal(err)
		}
		phoneBytes += uint64(len(pkt))
		if _, err := up.SendRTP(upstreamRTP(i)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			time.Sleep(time.Millisecond) // stay well inside socket buffers
		}
	}
	rr := sim.ReceiverReport(phone.SSRC)
	for range rtcpEachWay {
		if err := phone.SendRTCP(rr); err != nil {
			t.Fatal(err)
		}
		if err := up.SendRTCP(sim.ReceiverReport(0xcafe0001)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "media delivered both ways", func() bool {
		urtp, urtcp := up.Received()
		prtp, prtcp := phone.Received()
		return len(urtp) == packetsEachWay && len(prtp) == packetsEachWay && len(urtcp) == rtcpEachWay && len(prtcp) == rtcpEachWay
	})
	if _, err := r.Delete(ctx, &relay.DeleteRequest{CallID: id, FromTag: "ft-phone"}); err != nil {
		t.Fatal(err)
	}

	fams := gather(t, reg)
	exact := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"srtpgw_calls_started_total", nil, 1},
		{"srtpgw_calls_active", nil, 0},
		{"srtpgw_calls_total", labels("end_reason", "delete"), 1},
		{"srtpgw_calls_total", labels("end_reason", "timeout"), 0},
		{"srtpgw_calls_rejected_total", nil, 0},
		{"srtpgw_packets_total", labels("direction", "phone_to_upstream", "kind", "rtp"), packetsEachWay},
		{"srtpgw_packets_total", labels("direction", "upstream_to_phone", "kind", "rtp"), packetsEachWay},
		{"srtpgw_packets_total", labels("direction", "phone_to_upstream", "kind", "rtcp"), rtcpEachWay},
		{"srtpgw_packets_total", labels("direction", "upstream_to_phone", "kind", "rtcp"), rtcpEachWay},
		// Bytes are counted as relayed: toward the phone they are the
		// plain packets srtpgw wrote after decrypting.
		{"srtpgw_bytes_total", labels("direction", "upstream_to_phone", "kind", "rtp"), float64(packetsEachWay * rtpSize)},
		{"srtpgw_bytes_total", labels("direction", "upstream_to_phone", "kind", "rtcp"), float64(rtcpEachWay * len(rr))},
		{"srtpgw_packets_dropped_total", labels("reason", "auth"), 0},
		{"srtpgw_packets_dropped_total", labels("reason", "replay"), 0},
		{"srtpgw_packets_dropped_total", labels("reason", "rogue_source"), 0},
		{"srtpgw_packets_dropped_total", labels("reason", "no_keys"), 0},
		{"srtpgw_dtls_handshakes_total", labels("result", "fingerprint_mismatch"), 0},
		{"srtpgw_upstream_plaintext_packets_total", nil, 0},
		// rtcp-mux: one port pair per leg, released to quarantine (2 ports
		// each, RTP and RTCP, on 2 legs).
		{"srtpgw_ports_quarantined", nil, 4},
		{"srtpgw_ports_capacity", nil, 200},
	}
	for _, tc := range exact {
		if got, ok := value(fams, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	// Toward the upstream they are SRTP: each packet grew by its tag.
	if got, _ := value(fams, "srtpgw_bytes_total", labels("direction", "phone_to_upstream", "kind", "rtp")); got <= float64(phoneBytes) {
		t.Errorf("phone_to_upstream rtp bytes = %v, want more than %d (SRTP size)", got, phoneBytes)
	}
	ok, _ := value(fams, "srtpgw_dtls_handshakes_total", labels("result", "ok"))
	if ok < 1 {
		t.Errorf("dtls_handshakes_total{result=ok} = %v, want >= 1", ok)
	}
	if n, present := value(fams, "srtpgw_dtls_handshake_duration_seconds", nil); !present || n != ok {
		t.Errorf("handshake histogram count = %v (present %v), want %v like the ok counter", n, present, ok)
	}
	// No result the real relay reports may fall outside the enumeration
	// kept here (relay does not export its list).
	for res := range r.Snapshot().Handshakes.Results {
		if _, known := handshakeResults.index[res]; !known {
			t.Errorf("relay reports handshake result %q the collector folds into unknown", res)
		}
	}
	if v, present := value(fams, "srtpgw_dtls_handshakes_total", labels("result", unknown)); present {
		t.Errorf("unknown handshake result series present (%v)", v)
	}
	// The call-id carried an '@' and the legs real addresses: none may
	// show up as a label.
	checkLabels(t, fams)
}

// TestScrapeConcurrentWithClose scrapes while the relay shuts down: the
// collector must only read, never hold anything across a scrape.
func TestScrapeConcurrentWithClose(t *testing.T) {
	base := runtime.NumGoroutine()
	r := newTestRelay(t)
	reg := NewRegistry(Sources{Relay: r}, BuildInfo{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	fams := gather(t, reg)
	if v, ok := value(fams, "srtpgw_calls_active", nil); !ok || v != 0 {
		t.Errorf("calls_active after Close = %v (present %v)", v, ok)
	}
	eventually(t, 5*time.Second, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= base })
}
