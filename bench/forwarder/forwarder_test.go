package forwarder

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/bench/bencode"
)

func TestRewrite(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.3")
	cases := []struct {
		name     string
		in       string
		want     []string // lines that must appear in the output
		wantNot  []string
		rtp, rtc string
		err      bool
	}{
		{"phone offer", "v=0\r\no=- 1001 1 IN IP4 127.0.1.1\r\ns=-\r\nc=IN IP4 127.0.1.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n",
			[]string{"o=- 1001 1 IN IP4 127.0.0.3\r\n", "c=IN IP4 127.0.0.3\r\n", "m=audio 50000 RTP/AVP 0 101\r\n", "a=rtpmap:0 PCMU/8000\r\n"},
			[]string{"127.0.1.1"}, "127.0.1.1:20000", "127.0.1.1:20001", false},
		{"a=rtcp full form, media-level c=", "v=0\no=- 1 1 IN IP4 1.1.1.1\nc=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 2.2.2.2\na=rtcp:4005 IN IP4 3.3.3.3\n",
			[]string{"a=rtcp:50001 IN IP4 127.0.0.3\n", "m=audio 50000 RTP/AVP 0\n"}, nil, "2.2.2.2:4000", "3.3.3.3:4005", false},
		{"a=rtcp short form", "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\na=rtcp:4009\n",
			nil, nil, "1.1.1.1:4000", "1.1.1.1:4009", false},
		{"no audio", "c=IN IP4 1.1.1.1\nm=video 4000 RTP/AVP 96\n", nil, nil, "", "", true},
		{"bad c=", "c=IN IP4\nm=audio 4000 RTP/AVP 0\n", nil, nil, "", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, ep, err := rewrite(c.in, addr, 50000, 50001)
			if c.err {
				if err == nil {
					t.Fatalf("no error; out %q", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("output still has %q:\n%s", w, out)
				}
			}
			if ep.rtp.String() != c.rtp || ep.rtcp.String() != c.rtc {
				t.Errorf("peer %v/%v, want %s/%s", ep.rtp, ep.rtcp, c.rtp, c.rtc)
			}
		})
	}
}

// ngDo is a bare test client: one command, one reply.
func ngDo(t *testing.T, c *net.UDPConn, cookie string, req map[string]any) map[string]any {
	t.Helper()
	b, _ := bencode.Append([]byte(cookie+" "), req)
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	ck, body, _ := bytes.Cut(buf[:n], []byte{' '})
	if string(ck) != cookie {
		t.Fatalf("cookie %q, want %q", ck, cookie)
	}
	m, err := bencode.DecodeDict(body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newServer(t *testing.T) (*Server, *net.UDPConn) {
	t.Helper()
	s, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 52000, PortMax: 52999, Interfaces: []Interface{
		{"lan", netip.MustParseAddr("127.0.0.1")}, {"wan", netip.MustParseAddr("127.0.0.1")}}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func listenLoopback(t *testing.T) *net.UDPConn {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sdpFor(c *net.UDPConn) string {
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
		itoa(int(a.Port())) + " RTP/AVP 0\r\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCallForwardsBothWays(t *testing.T) {
	s, ng := newServer(t)
	if r := ngDo(t, ng, "1", map[string]any{"command": "ping"}); r["result"] != "pong" {
		t.Fatalf("ping: %v", r)
	}
	phone, up := listenLoopback(t), listenLoopback(t)
	offer := ngDo(t, ng, "2", map[string]any{"command": "offer", "call-id": "c1", "from-tag": "a",
		"sdp": sdpFor(phone), "direction": []any{"lan", "wan"}})
	if offer["result"] != "ok" {
		t.Fatalf("offer: %v", offer)
	}
	// A retransmitted offer gets the identical reply and no new ports.
	if again := ngDo(t, ng, "2", map[string]any{"command": "offer", "call-id": "c1", "from-tag": "a",
		"sdp": sdpFor(phone), "direction": []any{"lan", "wan"}}); again["sdp"] != offer["sdp"] {
		t.Fatal("retransmission answered differently")
	}
	answer := ngDo(t, ng, "3", map[string]any{"command": "answer", "call-id": "c1", "from-tag": "a", "to-tag": "b", "sdp": sdpFor(up)})
	if answer["result"] != "ok" {
		t.Fatalf("answer: %v", answer)
	}
	// Where the relay wants media is what its SDP says: read it back
	// with the same parser.
	_, relayWAN, err := rewrite(offer["sdp"].(string), netip.MustParseAddr("127.0.0.1"), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, relayLAN, _ := rewrite(answer["sdp"].(string), netip.MustParseAddr("127.0.0.1"), 1, 2)
	if relayWAN.rtp == relayLAN.rtp {
		t.Fatal("one port for both legs")
	}
	send := func(from *net.UDPConn, to netip.AddrPort, recv *net.UDPConn, msg string) {
		t.Helper()
		if _, err := from.WriteToUDPAddrPort([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		recv.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 100)
		n, src, err := recv.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("got %q, %v", buf[:n], err)
		}
		if src != relayLAN.rtp && src != relayWAN.rtp {
			t.Fatalf("came from %v, not from the relay", src)
		}
	}
	send(phone, relayLAN.rtp, up, "\x80up")
	send(up, relayWAN.rtp, phone, "\x80down")
	if st := s.Stats(); st.Forwarded.Load() != 2 {
		t.Fatalf("forwarded %d", st.Forwarded.Load())
	}
	if s.Calls() != 1 {
		t.Fatalf("calls %d", s.Calls())
	}
	if r := ngDo(t, ng, "4", map[string]any{"command": "delete", "call-id": "c1", "from-tag": "a"}); r["result"] != "ok" || r["warning"] != nil {
		t.Fatalf("delete: %v", r)
	}
	if s.Calls() != 0 || s.Stats().Forwarded.Load() != 2 {
		t.Fatal("delete did not remove the call or lost its counters")
	}
}

func TestNGErrors(t *testing.T) {
	_, ng := newServer(t)
	cases := []struct {
		req    map[string]any
		reason string
		result string
	}{
		{map[string]any{"command": "answer", "call-id": "nope", "sdp": "v=0"}, "Unknown call-id", "error"},
		{map[string]any{"command": "offer", "call-id": "x"}, "No SDP body in message", "error"},
		{map[string]any{"command": "offer", "sdp": "v=0"}, "No call-id in message", "error"},
		{map[string]any{"command": "offer", "call-id": "x", "sdp": "v=0\r\n"}, "Failed to parse SDP", "error"},
		{map[string]any{"command": "offer", "call-id": "y", "sdp": "c=IN IP4 1.1.1.1\nm=audio 4000 RTP/AVP 0\n", "direction": []any{"lan", "dmz"}}, `Unknown interface "dmz"`, "error"},
		{map[string]any{"command": "start recording"}, "Unrecognized command", "error"},
		{map[string]any{"no": "command"}, `Dictionary contains no key "command"`, "error"},
		{map[string]any{"command": "delete", "call-id": "gone"}, "", "ok"},
	}
	for i, c := range cases {
		r := ngDo(t, ng, "e"+itoa(i), c.req)
		if r["result"] != c.result || (c.reason != "" && r["error-reason"] != c.reason) {
			t.Errorf("%v -> %v, want %s %q", c.req, r, c.result, c.reason)
		}
	}
}

func TestConfigAndPortExhaustion(t *testing.T) {
	if _, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 50000, PortMax: 50001, Interfaces: []Interface{{"x", netip.MustParseAddr("127.0.0.1")}}}); err == nil {
		t.Fatal("accepted a range too small for one leg pair")
	}
	if _, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 50000, PortMax: 50010}); err == nil {
		t.Fatal("accepted no interface")
	}
	// Room for two legs (one call) only.
	s, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 53100, PortMax: 53103, Interfaces: []Interface{{"x", netip.MustParseAddr("127.0.0.1")}}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Close()
	c, _ := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
	defer c.Close()
	sdp := "c=IN IP4 127.0.0.1\nm=audio 4000 RTP/AVP 0\n"
	if r := ngDo(t, c, "1", map[string]any{"command": "offer", "call-id": "a", "sdp": sdp}); r["result"] != "ok" {
		t.Fatalf("first call: %v", r)
	}
	if r := ngDo(t, c, "2", map[string]any{"command": "offer", "call-id": "b", "sdp": sdp}); r["error-reason"] != "Ran out of ports" {
		t.Fatalf("second call: %v", r)
	}
}
