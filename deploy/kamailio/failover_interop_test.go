//go:build interop

package kamailio

// Scale-out as deploy/kubernetes/README.md describes it: two relays in
// Kamailio's rtpengine set, the preferred one full. Kamailio 5.6 always sends
// `supports: [load limit]`; a full relay answers `result: load limit` and the
// stock module offers the call to the next relay of the set (ng-protocol.md:
// it fails over on `load limit`, `Ran out of ports` and `Parallel session
// limit reached`, and on no reply). Nothing in kamailio.cfg handles it.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

func TestKamailioFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	for _, bin := range []string{"kamailio", "baresip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not installed (apt-get install kamailio baresip-core): %v", bin, err)
		}
	}
	dir := interop.WorkDir(t)
	relay := func(name string, portMin, maxSessions int) *interop.Relay {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return interop.StartRelay(ctx, t, d, interop.RelayConfig{
			LAN: relayLAN, WAN: relayWAN, PortMin: portMin, PortMax: portMin + 99, MaxSessions: maxSessions,
		})
	}
	full := relay("full", portMin, 1)
	spare := relay("spare", portMin+100, 0)

	// Fill the preferred relay: one call offered to it directly.
	ng, err := full.DialNG()
	if err != nil {
		t.Fatal(err)
	}
	defer ng.Close()
	occupant := "v=0\r\no=- 1 1 IN IP4 " + phoneIP + "\r\ns=-\r\nc=IN IP4 " + phoneIP + "\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
	if _, err := ng.Command(within(ctx, 5*time.Second), interop.NewDict("command", "offer",
		"call-id", "occupant@failover", "from-tag", "occupant", "sdp", occupant,
		"transport-protocol", "UDP/TLS/RTP/SAVP", "direction", []string{"lan", "wan"})); err != nil {
		t.Fatalf("filling the preferred relay: %v", err)
	}

	fullTap, err := startNGTap(full.NG)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fullTap.close)
	spareTap, err := startNGTap(spare.NG)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(spareTap.close)
	upstreamSIP := freeUDPPort(t, upstreamIP)
	// Kamailio picks a node by a hash of the Call-ID over the weights;
	// 1000:1 makes the full relay its first choice for all but ~0.1 %
	// of Call-IDs (the test then says so below).
	kamAddr, kam := startKamailio(ctx, t, dir,
		[]ngNode{{addr: fullTap.addr(), weight: 1000}, {addr: spareTap.addr(), weight: 1}}, upstreamSIP)

	// A phone calls the upstream, which rejects it: offer and delete must
	// both reach the spare relay.
	runUnanswered(ctx, t, filepath.Join(dir, "call"), unansweredCase{
		name: "failover", upstreamRejects: true, wantLog: "rtpengine delete on failure 486",
	}, kamAddr, upstreamSIP, spareTap, kam)

	// Kamailio pings every relay of the set when it starts; the call's
	// first command at the spare relay is its offer.
	spareEx, _ := exchanges(spareTap.datagrams())
	var offer *ngExchange
	for _, e := range spareEx {
		if e.command == "offer" {
			offer = e
			break
		}
	}
	if offer == nil || offer.rep == nil || string(offer.repDict.Get("result").Str) != "ok" {
		t.Fatalf("the spare relay did not take the offer: %v", commandsOf(spareEx))
	}
	callID := string(offer.reqDict.Get("call-id").Str)
	fullEx, bad := exchanges(fullTap.datagrams())
	if len(bad) > 0 {
		t.Errorf("%d undecodable ng datagrams at the full relay", len(bad))
	}
	refused := false
	for _, e := range fullEx {
		if e.command != "offer" || string(e.reqDict.Get("call-id").Str) != callID {
			continue
		}
		if e.rep == nil {
			t.Fatalf("the full relay never answered the offer for %q", callID)
		}
		result := string(e.repDict.Get("result").Str)
		t.Logf("full relay: offer for %q -> result %q, message %q", callID, result, e.repDict.Get("message").Str)
		if result != "load limit" {
			t.Errorf("the full relay answered %q, want \"load limit\"", result)
		}
		refused = true
	}
	if !refused {
		t.Fatalf("Kamailio offered %q to the spare relay first (its Call-ID hash chose the weight-1 node), so failover was not exercised; ng at the full relay: %v", callID, commandsOf(fullEx))
	}
}
