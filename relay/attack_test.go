package relay

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/sim"
)

// TestForgeryBurstOneSecurityRecord: a burst of forged SRTP from upstream is
// dropped and counted, the call is unaffected, and the reaper raises one
// rate-limited security record for it, not one per packet.
func TestForgeryBurstOneSecurityRecord(t *testing.T) {
	r, rec := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "forgery", callOpts{setup: "active", mux: true})
	enc, err := c.up.SendRTP(upstreamPacket(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		forged := append([]byte(nil), enc...)
		binary.BigEndian.PutUint16(forged[2:], uint16(1001+i)) // fresh index: not a replay
		forged[len(forged)-1] ^= 0xff                          // and a broken tag
		if err := c.up.SendRaw(forged); err != nil {
			t.Fatal(err)
		}
	}
	us := c.stream(t, 1, 1)
	eventually(t, 3*time.Second, "forgeries counted", func() bool { return drops(us, DropAuth) == 100 })
	r.reap()
	r.reap()
	ev := rec.snapshot()
	if len(ev.security) != 1 || ev.security[0] != SecurityAuthFailure {
		t.Fatalf("security records %v, want exactly one %s", ev.security, SecurityAuthFailure)
	}
	if _, err := c.up.SendRTP(upstreamPacket(1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "call unaffected", func() bool { return c.phone.Count() == 2 })
}

// TestPortScanWhileCallsRun scans every port of the media range on both
// interfaces while calls run: the scanner gets no media back, the calls
// keep flowing, and the scan shows in the drop counters.
func TestPortScanWhileCallsRun(t *testing.T) {
	r, _ := newTestRelay(t, func(c *Config) { c.PortMin, c.PortMax = 41000, 41099 })
	defer r.Close()
	calls := []*testCall{
		placeCall(t, r, "scan-1", callOpts{setup: "active", mux: true}),
		placeCall(t, r, "scan-2", callOpts{setup: "passive"}),
	}
	before := r.Snapshot()
	atk := newAttacker(t)
	scan := []byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 'p', 'r', 'o', 'b', 'e'}
	sent := 0
	for _, ip := range []netip.Addr{lanAddr, wanAddr} {
		for port := 41000; port <= 41099; port++ {
			atk.send(t, scan, netip.AddrPortFrom(ip, uint16(port)))
			sent++
		}
	}
	for _, c := range calls {
		for j := range 20 {
			if _, err := c.phone.SendRTP(payload("PHONE", j)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.up.SendRTP(upstreamPacket(j)); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 3*time.Second, "call media intact during the scan", func() bool {
			got, _ := c.up.Received()
			return len(got) == 20 && c.phone.Count() == 20
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := atk.received(); n != 0 {
		t.Fatalf("scanner received %d datagrams", n)
	}
	after := r.Snapshot()
	seen := 0
	for _, d := range []DropReason{DropRogueSource, DropNoRoute, DropMalformed, DropAuth, DropNoKeys} {
		seen += int(after.Drops[d] - before.Drops[d])
	}
	// The scan hit the calls' sockets (4 pairs per call, 2 calls): each of
	// those probes is counted; probes to unallocated ports never reach srtpgw.
	if seen < 8 {
		t.Fatalf("only %d of %d scan probes visible in drop counters", seen, sent)
	}
	t.Logf("%d probes sent, %d hit live sockets and were counted", sent, seen)
}

// TestDTLSFloodFromManySources: ClientHellos from 50 spoofed sources at a
// call's upstream port during setup get no answer at all (bytes out 0), are
// counted, and the real handshake still completes.
func TestDTLSFloodFromManySources(t *testing.T) {
	r, _ := newTestRelay(t, nil)
	defer r.Close()
	c := placeCall(t, r, "flood", callOpts{setup: "active", mux: true, noConnect: true})
	us := c.stream(t, 1, 1)
	hello := captureClientHello(t)
	var answered int
	for i := range 50 {
		src := netip.AddrFrom4([4]byte{127, 0, 1, byte(10 + i)})
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.WriteToUDPAddrPort(hello, us.local); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		buf := make([]byte, 2048)
		if n, _, err := conn.ReadFromUDPAddrPort(buf); err == nil && n > 0 {
			answered++
		}
	}
	eventually(t, 2*time.Second, "flood counted", func() bool { return drops(us, DropDTLS) >= 50 })
	if answered != 0 {
		t.Fatalf("%d spoofed sources got an answer (bytes out must be 0)", answered)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.up.Connect(ctx, true); err != nil {
		t.Fatalf("real handshake after the flood: %v", err)
	}
	c.waitKeys(t)
}

// captureClientHello records the first datagram a pion DTLS client sends.
func captureClientHello(t *testing.T) []byte {
	t.Helper()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	cli, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	cert, _ := selfsign.GenerateSelfSigned()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go func() {
		dc, err := dtls.ClientWithOptions(cli, sink.LocalAddr(), dtls.WithCertificates(cert),
			dtls.WithInsecureSkipVerify(true), dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM))
		if err == nil {
			_ = dc.HandshakeContext(ctx)
			dc.Close()
		}
	}()
	buf := make([]byte, 2048)
	sink.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := sink.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf[0] != 22 {
		t.Fatalf("first datagram is not a DTLS handshake record: %d", buf[0])
	}
	return buf[:n]
}

// TestHandshakeCapWaitsInsteadOfFailing: with room for one handshake at a
// time, two calls from the same peer set up at once both complete: the
// second waits for a slot instead of failing its call.
func TestHandshakeCapWaitsInsteadOfFailing(t *testing.T) {
	r, rec := newTestRelay(t, func(c *Config) { c.Handshakes = crypto.NewHandshakeLimiter(1, 1) })
	defer r.Close()
	a := placeCall(t, r, "cap-a", callOpts{setup: "passive", mux: true, noConnect: true})
	b := placeCall(t, r, "cap-b", callOpts{setup: "passive", mux: true, noConnect: true})
	errs := make(chan error, 2)
	for _, c := range []*testCall{a, b} {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs <- c.up.Connect(ctx, false)
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a handshake failed under the cap: %v", err)
		}
	}
	a.waitKeys(t)
	b.waitKeys(t)
	if ev := rec.snapshot(); len(ev.ended) != 0 || len(ev.dtlsOK) != 2 {
		t.Fatalf("ended %d calls, %d handshakes ok", len(ev.ended), len(ev.dtlsOK))
	}
}

// TestUnkeyedRTCPKeepsCall: a peer that never runs the RTCP port's DTLS
// handshake (no rtcp-mux) keeps its call and its RTP; the RTCP component
// is reported failed and stays without keys.
func TestUnkeyedRTCPKeepsCall(t *testing.T) {
	r, rec := newTestRelay(t, func(c *Config) { c.HandshakeTimeout = time.Second })
	defer r.Close()
	c := placeCall(t, r, "rtp-only", callOpts{setup: "active", noConnect: true,
		upCfg: func(u *sim.UpstreamConfig) { u.SkipRTCPHandshake = true }})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.up.Connect(ctx, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "RTCP handshake reported failed", func() bool { return len(rec.snapshot().dtlsFail) == 1 })
	if _, err := c.phone.SendRTP(payload("PHONE", 0)); err != nil {
		t.Fatal(err)
	}
	if err := c.phone.SendRTCP(sim.ReceiverReport(c.phone.SSRC)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "RTP still flows", func() bool { got, _ := c.up.Received(); return len(got) == 1 })
	ph := c.stream(t, 0, 2)
	eventually(t, 2*time.Second, "RTCP held back", func() bool { return drops(ph, DropNoKeys) == 1 })
	if ev := rec.snapshot(); len(ev.ended) != 0 {
		t.Fatalf("call ended: %+v", ev.ended)
	}
}
