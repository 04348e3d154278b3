package main

// Shared helpers of the daemon-level abuse tests (*_abuse_test.go): start an
// in-process daemon, read one metric series, read the call log while the
// daemon writes it, place a call from a chosen source address, and the
// "still healthy" check every abuse test ends with.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
	"github.com/srtpgw/srtpgw/relay/sim"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// startTestDaemon starts an in-process daemon on testConfig, changed by mod,
// and shuts it down when the test ends.
func startTestDaemon(t *testing.T, mod func(*Config)) (*daemon, Config) {
	t.Helper()
	cfg := testConfig(t)
	if mod != nil {
		mod(&cfg)
	}
	d, err := startDaemon(cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.shutdown("test done") })
	return d, cfg
}

func ngAddrOf(d *daemon) netip.AddrPort { return d.ngUDP.LocalAddr().(*net.UDPAddr).AddrPort() }

func httpAddrOf(d *daemon) string { return d.httpLn.Addr().String() }

// metricIn returns the value of one exact series ("name" or
// `name{label="v"}`) in a /metrics text body.
func metricIn(body, series string) (float64, bool) {
	for line := range strings.SplitSeq(body, "\n") {
		rest, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		return v, err == nil
	}
	return 0, false
}

// metric scrapes the daemon and returns one series; a missing series fails
// the test (it would make every comparison with it vacuous).
func metric(t *testing.T, d *daemon, series string) float64 {
	t.Helper()
	v, ok := metricIn(scrape(t, httpAddrOf(d)), series)
	if !ok {
		t.Fatalf("series %s not in /metrics", series)
	}
	return v
}

// httpStatus GETs a path on the daemon's HTTP listener.
func httpStatus(t *testing.T, d *daemon, path string) int {
	t.Helper()
	resp, err := http.Get("http://" + httpAddrOf(d) + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitUntil polls cond every 50 ms until it holds or within passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveRecords reads the call log while the daemon may be appending to it:
// a last line caught mid-write is skipped, not fatal.
func liveRecords(t *testing.T, path string) []map[string]any { return records(t, path, false) }

// pick returns the records of one type, and of one kind when kind is set
// (security records).
func pick(recs []map[string]any, typ, kind string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["type"] == typ && (kind == "" || r["kind"] == kind) {
			out = append(out, r)
		}
	}
	return out
}

// verifyLog checks the hash chain and signatures of the whole call log.
func verifyLog(t *testing.T, d *daemon, path string) audit.Result {
	t.Helper()
	files, err := audit.Files(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := audit.Verify(files, d.audit.PublicKey())
	if err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	return res
}

// dialNGFrom is dialNG from a chosen local address, to play a SIP proxy
// on another host of 127.0.0.0/8.
func dialNGFrom(local netip.Addr, addr netip.AddrPort) (*ngClient, error) {
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)), net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	var b [4]byte
	rand.Read(b[:])
	return &ngClient{conn: c, id: hex.EncodeToString(b[:])}, nil
}

// simCall is one call set up by setupCall: the simulated peers, and the
// ng client that set it up.
type simCall struct {
	id    string
	phone *sim.Phone
	up    *sim.Upstream
}

func (c *simCall) Close() {
	if c.phone != nil {
		c.phone.Close()
	}
	if c.up != nil {
		c.up.Close()
	}
}

// callSpec names the parties of a call set up by setupCallSpec.
type callSpec struct {
	id, fromTag, toTag string
	offerExtra         []ng.Entry // more keys for the offer (label, ...)
}

// setupCall drives one call through the daemon over ng, without *testing.T
// so that many can be set up from goroutines: offer (the phone's plain SDP,
// DTLS-SRTP asked toward the upstream), answer (upstream passive, so srtpgw
// is the DTLS client), the handshake, and srtpgw's keys (ng query). On error
// nothing is left open.
func setupCall(c *ngClient, callID string) (*simCall, error) {
	return setupCallSpec(c, callSpec{id: callID, fromTag: "ft", toTag: "tt"})
}

func setupCallSpec(c *ngClient, spec callSpec) (_ *simCall, err error) {
	sc := &simCall{id: spec.id}
	defer func() {
		if err != nil {
			sc.Close()
		}
	}()
	if sc.phone, err = sim.NewPhone(loopback); err != nil {
		return nil, err
	}
	if sc.up, err = sim.NewUpstream(sim.UpstreamConfig{Addr: loopback, Setup: "passive", Mux: true}); err != nil {
		return nil, err
	}
	offer := append([]ng.Entry{ng.E("command", ng.String("offer")), ng.E("call-id", ng.String(spec.id)),
		ng.E("from-tag", ng.String(spec.fromTag)), ng.E("sdp", ng.Bytes(sc.phone.OfferSDP(1))),
		ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP")), ng.E("rtcp-mux", strs("offer")),
		ng.E("supports", strs("load limit"))}, spec.offerExtra...)
	rep, err := c.call(offer...)
	if err != nil {
		return nil, fmt.Errorf("offer: %w", err)
	}
	if r, _ := rep.Get("result").Str(); r != "ok" {
		return nil, fmt.Errorf("offer: result %q", r)
	}
	ans, err := sc.up.Answer(rep.Get("sdp").Bytes())
	if err != nil {
		return nil, err
	}
	rep, err = c.call(ng.E("command", ng.String("answer")), ng.E("call-id", ng.String(spec.id)),
		ng.E("from-tag", ng.String(spec.fromTag)), ng.E("to-tag", ng.String(spec.toTag)), ng.E("sdp", ng.Bytes(ans)))
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	if err := sc.phone.SetRemote(rep.Get("sdp").Bytes()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sc.up.Connect(ctx, false); err != nil {
		return nil, fmt.Errorf("DTLS: %w", err)
	}
	if err := waitKeys(c, spec.id); err != nil {
		return nil, err
	}
	return sc, nil
}

// mediaBothWays sends n packets each way and waits until all arrived.
func mediaBothWays(sc *simCall, n int) error {
	gotUp0, _ := sc.up.Received()
	gotDown0, _ := sc.phone.Received()
	for i := range n {
		if _, err := sc.phone.SendRTP(bytes.Repeat([]byte{byte(i)}, 160)); err != nil {
			return err
		}
		if _, err := sc.up.SendRTP(rtpHeader(uint16(i), 0xfeed)); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		gotUp, _ := sc.up.Received()
		gotDown, _ := sc.phone.Received()
		if len(gotUp)-len(gotUp0) == n && len(gotDown)-len(gotDown0) == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("media: upstream got %d of %d, phone got %d of %d",
				len(gotUp)-len(gotUp0), n, len(gotDown)-len(gotDown0), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rtpHeader is a 12-byte RTP header (RFC 3550 §5.1, PCMU) and 160 bytes of
// µ-law silence.
func rtpHeader(seq uint16, ssrc uint32) []byte {
	p := make([]byte, 12, 172)
	p[0], p[1] = 0x80, 0
	p[2], p[3] = byte(seq>>8), byte(seq)
	ts := uint32(seq) * 160
	p[4], p[5], p[6], p[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	p[8], p[9], p[10], p[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	return append(p, bytes.Repeat([]byte{0xff}, 160)...)
}

// assertHealthy is how every abuse test ends: /readyz 200, an ng ping
// answered, and a fresh call placed with placeDemoCall carries media both
// ways.
func assertHealthy(t *testing.T, d *daemon, callID string) {
	t.Helper()
	if code := httpStatus(t, d, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz %d after the attack, want 200", code)
	}
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rep, err := c.call(ng.E("command", ng.String("ping"))); err != nil {
		t.Fatalf("ping after the attack: %v", err)
	} else if r, _ := rep.Get("result").Str(); r != "pong" {
		t.Fatalf("ping after the attack: result %q", r)
	}
	phone, up, _ := placeDemoCall(t, ngAddrOf(d), callID)
	if err := mediaBothWays(&simCall{phone: phone, up: up}, 5); err != nil {
		t.Fatalf("fresh call after the attack: %v", err)
	}
}

// rawExchange sends one datagram on conn and returns the reply that starts
// with cookie, or ok=false if none arrives within wait.
func rawExchange(t *testing.T, conn *net.UDPConn, msg []byte, cookie string, wait time.Duration) (ng.Value, bool) {
	t.Helper()
	if _, err := conn.Write(msg); err != nil {
		t.Fatalf("send %d bytes: %v", len(msg), err)
	}
	return rawReply(t, conn, cookie, wait)
}

// rawReply waits for the reply that starts with cookie.
func rawReply(t *testing.T, conn *net.UDPConn, cookie string, wait time.Duration) (ng.Value, bool) {
	t.Helper()
	buf := make([]byte, 1<<16)
	conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return ng.Value{}, false
			}
			t.Fatalf("read: %v", err)
		}
		rest, ok := bytes.CutPrefix(buf[:n], []byte(cookie+" "))
		if !ok {
			continue
		}
		decode := ng.Decode
		if len(rest) > 0 && rest[0] == '{' { // a JSON request gets a JSON reply
			decode = ng.DecodeJSON
		}
		v, err := decode(rest)
		if err != nil {
			t.Fatalf("reply to %s does not decode: %v", cookie, err)
		}
		return v, true
	}
}

// reasonOf is a reply's error-reason ("" if none).
func reasonOf(v ng.Value) string {
	s, _ := v.Get("error-reason").Str()
	return s
}
