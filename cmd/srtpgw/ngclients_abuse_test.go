package main

// ng clients that should not be served, or not confused with each other
// (security requirements C1, C2): sources outside --ng-allow, and two
// proxies whose cookies collide.

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// TestAbuseNGAllowlist: with --ng-allow 127.0.0.2/32, datagrams from
// 127.0.0.1 (loopback is not implicitly allowed once a list is given) and
// from 127.0.0.9 get no reply, are counted as not_allowed, and each source
// yields exactly one control_client_refused security record however many
// datagrams it sends; 127.0.0.2 is answered and can place a call.
func TestAbuseNGAllowlist(t *testing.T) {
	const per = 25
	allowed := netip.MustParseAddr("127.0.0.2")
	d, cfg := startTestDaemon(t, func(c *Config) {
		c.NGAllow = []netip.Prefix{netip.PrefixFrom(allowed, 32)}
		c.PortMin, c.PortMax = 26300, 26399
	})
	before := metric(t, d, dropped("not_allowed"))
	suppressed0 := metric(t, d, "srtpgw_ng_events_suppressed_total")
	for _, src := range []string{"127.0.0.1", "127.0.0.9"} {
		conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)}, net.UDPAddrFromAddrPort(ngAddrOf(d)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range per {
			conn.Write([]byte(fmt.Sprintf("out%d d7:command4:pinge", i)))
		}
		if rep, got := rawReply(t, conn, "out0", 300*time.Millisecond); got {
			t.Fatalf("%s outside --ng-allow was answered: %q", src, ng.Encode(rep))
		}
		conn.Close()
	}
	waitUntil(t, 2*time.Second, "not_allowed +50", func() bool { return metric(t, d, dropped("not_allowed")) == before+2*per })
	if s := metric(t, d, "srtpgw_ng_events_suppressed_total") - suppressed0; s != 2*per-2 {
		t.Fatalf("events suppressed +%v, want %d (one event per source)", s, 2*per-2)
	}
	refused := pick(liveRecords(t, cfg.AuditLog), "security", "control_client_refused")
	bySource := map[string]int{}
	for _, r := range refused {
		src, _ := r["source"].(string)
		ap, err := netip.ParseAddrPort(src)
		if err != nil {
			t.Fatalf("security record source %q: %v", src, err)
		}
		bySource[ap.Addr().String()]++
		if r["count"] != float64(1) || r["call"] != nil {
			t.Fatalf("record %v", r)
		}
	}
	if len(refused) != 2 || bySource["127.0.0.1"] != 1 || bySource["127.0.0.9"] != 1 {
		t.Fatalf("control_client_refused records by source %v (%d records), want one each for .1 and .9", bySource, len(refused))
	}

	// The allowed proxy is served, and a call from it carries media. (The
	// placeDemoCall helper sends from 127.0.0.1, which this daemon refuses.)
	if code := httpStatus(t, d, "/readyz"); code != 200 {
		t.Fatalf("/readyz %d", code)
	}
	c, err := dialNGFrom(allowed, ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.call(ng.E("command", ng.String("ping"))); err != nil {
		t.Fatalf("ping from the allowed address: %v", err)
	}
	sc, err := setupCall(c, "allowed@clinic")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := mediaBothWays(sc, 5); err != nil {
		t.Fatal(err)
	}
}

// TestAbuseNGCookieCollision: two proxies whose cookies collide (the
// rtpengine#1867 failure: same server_id and pid) send different offers
// with the same cookie at the same time. The reply cache is keyed by
// (sender, cookie), so each gets the reply to its own request, both calls
// exist, and each retransmission returns its own first reply byte for byte.
func TestAbuseNGCookieCollision(t *testing.T) {
	d, _ := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 26400, 26499 })
	const cookie = "1_4242_7"
	type sender struct {
		conn   *net.UDPConn
		callID string
		msg    []byte
		first  []byte
	}
	var senders []*sender
	for _, id := range []string{"collide-a@clinic", "collide-b@clinic"} {
		conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ngAddrOf(d)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		port := 40000 + len(senders)*2
		sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", port)
		msg := append([]byte(cookie+" "), ng.Encode(ng.Dict(ng.E("command", ng.String("offer")),
			ng.E("call-id", ng.String(id)), ng.E("from-tag", ng.String("ft")), ng.E("sdp", ng.String(sdp)),
			ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP"))))...)
		senders = append(senders, &sender{conn: conn, callID: id, msg: msg})
	}
	for _, s := range senders {
		if _, err := s.conn.Write(s.msg); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<16)
	read := func(s *sender) []byte {
		s.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := s.conn.Read(buf)
		if err != nil {
			t.Fatalf("%s: %v", s.callID, err)
		}
		return append([]byte(nil), buf[:n]...)
	}
	ports := map[string]bool{}
	for _, s := range senders {
		s.first = read(s)
		rest, ok := bytes.CutPrefix(s.first, []byte(cookie+" "))
		if !ok {
			t.Fatalf("%s: reply without the cookie: %q", s.callID, s.first)
		}
		v, err := ng.Decode(rest)
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := v.Get("result").Str(); r != "ok" {
			t.Fatalf("%s: %q", s.callID, rest)
		}
		sdp := string(v.Get("sdp").Bytes())
		m := sdp[strings.Index(sdp, "m=audio "):]
		ports[strings.Fields(m)[1]] = true
	}
	if len(ports) != 2 {
		t.Fatalf("both replies advertise the same media port %v: one sender got the other's reply", ports)
	}
	hits0 := metric(t, d, "srtpgw_ng_cache_hits_total")
	for _, s := range senders {
		s.conn.Write(s.msg)
		if again := read(s); !bytes.Equal(again, s.first) {
			t.Fatalf("%s: retransmission answered with different bytes", s.callID)
		}
	}
	if h := metric(t, d, "srtpgw_ng_cache_hits_total") - hits0; h != 2 {
		t.Fatalf("cache hits +%v, want 2", h)
	}
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.call(ng.E("command", ng.String("list")))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range rep.Get("calls").List() {
		s, _ := v.Str()
		ids = append(ids, s)
	}
	if len(ids) != 2 || metric(t, d, "srtpgw_calls_started_total") != 2 {
		t.Fatalf("calls after two colliding offers: %v", ids)
	}
	for _, s := range senders {
		if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(s.callID))); err != nil {
			t.Fatal(err)
		}
	}
	assertHealthy(t, d, "after-collision@clinic")
}
