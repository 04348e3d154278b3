package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/sim"
	"github.com/srtpgw/srtpgw/relay/udp"
)

// What ICE costs. srtpgw answers ICE checks inside the stream's read loop
// (relay/ice.go) instead of running a pion PeerConnection per call; these
// measure both, side by side, so the README can say why.

// BenchmarkRelayPlainToSRTPICE is BenchmarkRelayPlainToSRTP with the
// upstream leg running ICE-lite (nominated, consent fresh).
func BenchmarkRelayPlainToSRTPICE(b *testing.B) { benchPlainToSRTP(b, true) }

// BenchmarkPeerConnectionPacket is the alternative design's packet path:
// one RTP packet written to a pion PeerConnection's track (SRTP, default
// interceptors) and read from the remote PeerConnection's track, over
// loopback. ns/op covers both ends, so one relay leg is about half.
func BenchmarkPeerConnectionPacket(b *testing.B) {
	a, z := connectedPair(b)
	defer a.Close()
	defer z.Close()
	payload := bytes.Repeat([]byte{0xd5}, 160)
	b.SetBytes(172)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: 1}, Payload: payload}
		if err := a.SendRTP(pkt); err != nil {
			b.Fatal(err)
		}
		// Pace to the receiver so the socket buffer never drops: the
		// benchmark measures work per packet, not loss.
		for z.Count() < uint64(i+1) && i%64 == 63 {
			runtime.Gosched()
		}
	}
}

// connectedPair builds two pion PeerConnections talking over loopback.
func connectedPair(tb testing.TB) (*sim.WebRTCPeer, *sim.WebRTCPeer) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := sim.NewWebRTCPeer(sim.WebRTCConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	z, err := sim.NewWebRTCPeer(sim.WebRTCConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	offer, err := a.Offer(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	answer, err := z.Answer(ctx, offer)
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.SetAnswer(answer); err != nil {
		tb.Fatal(err)
	}
	if err := a.WaitConnected(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := z.WaitConnected(ctx); err != nil {
		tb.Fatal(err)
	}
	return a, z
}

// TestPerCallCost counts goroutines and heap per call for srtpgw's ICE path,
// its plain DTLS-SRTP path, and a pion PeerConnection per call. It asserts
// only what is structural (ICE adds no goroutine to a srtpgw call) and logs
// the numbers for the README.
func TestPerCallCost(t *testing.T) {
	if testing.Short() {
		t.Skip("sets up many calls")
	}
	const n = 10
	plain := srtpgwCallCost(t, n, false)
	ice := srtpgwCallCost(t, n, true)
	if ice.goroutines != plain.goroutines {
		t.Errorf("an ICE call runs %.1f srtpgw goroutines, a plain DTLS-SRTP call %.1f: ICE should add none", ice.goroutines, plain.goroutines)
	}
	pc := peerConnectionCost(t, n)
	t.Logf("srtpgw DTLS-SRTP call: %.1f goroutines", plain.goroutines)
	t.Logf("srtpgw ICE-lite call:  %.1f goroutines, +%.1f KiB of ICE state per call", ice.goroutines, relay.ICEStateBytes()/1024)
	t.Logf("pion PeerConnection:   %.1f goroutines, %.0f KiB heap (one per call, upstream leg only)", pc.goroutines, pc.heapKiB)
}

type cost struct{ goroutines, heapKiB float64 }

const labelKey = "owner"

// countLabelled counts live goroutines carrying owner=srtpgw.
func countLabelled(t *testing.T) int {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range strings.Split(buf.String(), "\n\n") {
		if !strings.Contains(block, `labels: {"owner":"srtpgw"}`) {
			continue
		}
		// A block is "N @ pc pc ...", "# labels: ...", frames; the first
		// block also carries the profile header line before it.
		for _, line := range strings.Split(block, "\n") {
			var count int
			if _, err := fmt.Sscanf(line, "%d @", &count); err == nil {
				n += count
				break
			}
		}
	}
	return n
}

func heapInUse() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse)
}

// srtpgwCallCost sets up n phone -> upstream calls through a relay, with a
// pion PeerConnection (ICE) or a pion/dtls upstream (plain DTLS-SRTP) as the
// peer. Goroutines the relay starts carry a pprof label, so the peers' own
// goroutines are not counted. (Memory per call is measured at scale by the
// load tool, as RSS; bench/RESULTS.md.)
func srtpgwCallCost(t *testing.T, n int, ice bool) cost {
	t.Helper()
	cert, err := crypto.GenerateCertificate(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := relay.DefaultConfig()
	lan, wan := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	cfg.Interfaces = []relay.Interface{{Name: "lan", Addr: lan, Advertised: lan}, {Name: "wan", Addr: wan, Advertised: wan}}
	cfg.PortMin, cfg.PortMax = 45000, 45999
	cfg.Certs = staticCert{cert}
	// The daemon's socket strategy: a few poller workers serve every
	// socket, so a call adds no socket goroutine.
	poller, err := udp.NewPoller(0)
	if err != nil {
		t.Fatal(err)
	}
	defer poller.Close()
	cfg.Network = udp.System{Poller: poller}
	var r *relay.Relay
	// pprof.Do restores the labels of the context it is given, so it must
	// be an unlabelled one: the peers below must not inherit the label.
	ctx := context.Background()
	pprof.Do(ctx, pprof.Labels(labelKey, "srtpgw"), func(context.Context) {
		r, err = relay.New(cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	base := countLabelled(t)
	var cleanup []func()
	var talkers []func() error
	// One G.711 packet each peer sends to have srtpgw authenticate it.
	probe := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 0x5eed},
		Payload: make([]byte, 160)}
	defer func() {
		for _, f := range cleanup {
			f()
		}
	}()
	for i := range n {
		id := "cost-" + string(rune('a'+i))
		phone, err := sim.NewPhone(netip.MustParseAddr("127.0.0.10"))
		if err != nil {
			t.Fatal(err)
		}
		cleanup = append(cleanup, phone.Close)
		req := &relay.Request{CallID: id, FromTag: "ft", SDP: phone.OfferSDP(1), FromInterface: "lan", ToInterface: "wan",
			Transport: relay.TransportDTLSSAVP, RTCPMux: relay.RTCPMuxOffer | relay.RTCPMuxRequire}
		if ice {
			req.Flags.WebRTC = true
		}
		var offer []byte
		pprof.Do(ctx, pprof.Labels(labelKey, "srtpgw"), func(ctx context.Context) { offer, err = r.Offer(ctx, req) })
		if err != nil {
			t.Fatal(err)
		}
		var answer []byte
		var connect, talk func() error
		if ice {
			peer, err := sim.NewWebRTCPeer(sim.WebRTCConfig{})
			if err != nil {
				t.Fatal(err)
			}
			cleanup = append(cleanup, peer.Close)
			if answer, err = peer.Answer(context.Background(), offer); err != nil {
				t.Fatal(err)
			}
			connect = func() error {
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return peer.WaitConnected(c)
			}
			talk = func() error { return peer.SendRTP(probe) }
		} else {
			up, err := sim.NewUpstream(sim.UpstreamConfig{Addr: netip.MustParseAddr("127.0.0.20"), Setup: "active", Mux: true})
			if err != nil {
				t.Fatal(err)
			}
			cleanup = append(cleanup, up.Close)
			if answer, err = up.Answer(offer); err != nil {
				t.Fatal(err)
			}
			connect = func() error {
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return up.Connect(c, true)
			}
			talk = func() error {
				pkt, err := probe.Marshal()
				if err == nil {
					_, err = up.SendRTP(pkt)
				}
				return err
			}
		}
		pprof.Do(ctx, pprof.Labels(labelKey, "srtpgw"), func(ctx context.Context) {
			_, err = r.Answer(ctx, &relay.Request{CallID: id, FromTag: "ft", ToTag: "tt", SDP: answer, RTCPMux: relay.RTCPMuxDemux})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := connect(); err != nil {
			t.Fatal(err)
		}
		talkers = append(talkers, talk)
	}
	// The first authenticated SRTP from the peer completes the handshake
	// on srtpgw's side too, and srtpgw retires the call's DTLS state
	// (crypto.Endpoint.Retire), as in every answered call. Packets that
	// arrive before srtpgw has its keys are dropped, so talk for a while.
	for range 10 {
		for _, talk := range talkers {
			if err := talk(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // retired handshake goroutines exit
	return cost{goroutines: float64(countLabelled(t)-base) / float64(n)}
}

// peerConnectionCost connects n PeerConnection pairs and returns the cost of
// one PeerConnection (half a pair).
func peerConnectionCost(t *testing.T, n int) cost {
	t.Helper()
	g0, h0 := runtime.NumGoroutine(), heapInUse()
	var peers []*sim.WebRTCPeer
	for range n {
		a, z := connectedPair(t)
		peers = append(peers, a, z)
	}
	c := cost{
		goroutines: float64(runtime.NumGoroutine()-g0) / float64(2*n),
		heapKiB:    (heapInUse() - h0) / float64(2*n) / 1024,
	}
	for _, p := range peers {
		p.Close()
	}
	return c
}

type staticCert struct{ c *crypto.Certificate }

func (s staticCert) Current() *crypto.Certificate { return s.c }
