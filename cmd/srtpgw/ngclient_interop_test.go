//go:build interop

package main

// Drives a relay with rtpengine-ng-client (Debian rtpengine-utils), an
// independent ng client, through offer -> answer -> query -> delete for one
// call: a phone's plain RTP/AVP SDP is offered toward an upstream that
// answers with DTLS-SRTP (UDP/TLS/RTP/SAVP). The test checks the SDP the
// relay produces for each side, that it starts DTLS toward the upstream and
// sends nothing there in the clear before it has keys (fail closed), and the
// stats in the query and delete replies.
//
//	SRTPGW_INTEROP_RELAY=rtpengine go test -tags interop -count=1 -run TestNGClientInterop -v ./cmd/srtpgw/
//
// SRTPGW_INTEROP_RELAY is "srtpgw" (default; this package, built) or
// "rtpengine" (Debian rtpengine-daemon 10.5, userspace only).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	ngcLAN      = "127.0.0.2" // relay phone-side interface "lan"
	ngcWAN      = "127.0.0.3" // relay upstream-side interface "wan"
	ngcRTPCount = 25          // plain RTP packets the phone sends
	ngcPayload  = 160         // bytes of PCMU per packet (20 ms)
)

func TestNGClientInterop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if _, err := exec.LookPath("rtpengine-ng-client"); err != nil {
		t.Fatalf("rtpengine-ng-client not installed (apt-get install rtpengine-utils): %v", err)
	}
	ngPort := ngcStartRelay(ctx, t, t.TempDir())

	phone := ngcListen(t)
	upstream := ngcListen(t)
	upRecv := ngcCollect(upstream)
	callID := fmt.Sprintf("ngclient-%d@srtpgw.test", time.Now().UnixNano())
	nc := func(args ...string) string { return ngcRun(ctx, t, ngPort, args...) }

	// Offer: the phone's plain SDP; flags of ng-protocol.md b.6 phone->cloud.
	phoneSDP := ngcSDP(phone.LocalAddr().(*net.UDPAddr).Port, "RTP/AVP", "")
	out := nc("offer", "--call-id="+callID, "--from-tag=ft-phone", "--label=phone",
		"--protocol=UDP/TLS/RTP/SAVP", "--SDES=off", "--ICE=remove", "--rtcp-mux=offer",
		"--direction=lan,wan", "--replace-origin", "--replace-session-connection",
		"--trust-address", "--sdp="+phoneSDP)
	toUpstream := ngcCheckSDP(t, "offer", ngcNewSDP(t, out), "UDP/TLS/RTP/SAVP", ngcWAN, true)
	if v := toUpstream.attr("setup"); v != "actpass" { // RFC 5763 s5: the offerer says actpass
		t.Errorf("offer: a=setup:%s, want actpass", v)
	}

	// Answer: the upstream takes the passive role, so the relay must be the
	// DTLS client (RFC 5763 s5) and start the handshake.
	upSDP := ngcSDP(upstream.LocalAddr().(*net.UDPAddr).Port, "UDP/TLS/RTP/SAVP",
		"a=rtcp-mux\r\na=setup:passive\r\na=fingerprint:sha-256 "+ngcFakeFingerprint()+"\r\n")
	out = nc("answer", "--call-id="+callID, "--from-tag=ft-phone", "--to-tag=tt-upstream",
		"--label=upstream", "--protocol=RTP/AVP", "--ICE=remove", "--rtcp-mux=demux",
		"--replace-origin", "--replace-session-connection", "--trust-address", "--sdp="+upSDP)
	toPhone := ngcCheckSDP(t, "answer", ngcNewSDP(t, out), "RTP/AVP", ngcLAN, false)
	if slices.Contains(toPhone.attrs, "rtcp-mux") {
		t.Error("answer: a=rtcp-mux toward the phone despite rtcp-mux=demux")
	}

	// Media before any DTLS keys exist: the relay must count it and drop it.
	relayLAN := &net.UDPAddr{IP: net.ParseIP(ngcLAN), Port: toPhone.port}
	for i := 0; i < ngcRTPCount; i++ {
		if _, err := phone.WriteToUDP(ngcRTP(uint16(i)), relayLAN); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)

	q := ngcDumper(t, nc("query", "--call-id="+callID, "--from-tag=ft-phone"))
	ngcCheckStats(t, "query", q)

	dtls, clear := upRecv()
	if dtls == 0 {
		t.Error("upstream got no DTLS ClientHello from the relay (it should be the DTLS client)")
	}
	if clear != 0 {
		t.Errorf("upstream got %d RTP-range packets before any DTLS handshake completed", clear)
	}
	t.Logf("upstream socket received %d DTLS handshake datagrams, %d RTP-range datagrams", dtls, clear)

	d := ngcDumper(t, nc("delete", "--call-id="+callID, "--from-tag=ft-phone"))
	ngcCheckStats(t, "delete", d)
}

// ngcStartRelay starts the selected relay and returns its ng port once it
// answers a ping.
func ngcStartRelay(ctx context.Context, t *testing.T, dir string) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	ng := fmt.Sprintf("127.0.0.1:%d", port)
	var bin string
	var args []string
	switch relay := os.Getenv("SRTPGW_INTEROP_RELAY"); relay {
	case "rtpengine":
		// --config-file=none ignores /etc/rtpengine; srtp/crypto debug
		// levels would log keys, so everything stays at info.
		bin, args = "rtpengine", []string{"--config-file=none", "--foreground", "--log-stderr",
			"--table=-1", "--interface=lan/" + ngcLAN, "--interface=wan/" + ngcWAN,
			"--listen-ng=" + ng, "--port-min=23000", "--port-max=23999", "--log-level=6"}
	case "", "srtpgw":
		bin = filepath.Join(dir, "srtpgw")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = "/usr/local/go/bin/go"
		}
		if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/srtpgw: %v\n%s", err, out)
		}
		args = []string{"--interface", "lan/" + ngcLAN, "--interface", "wan/" + ngcWAN,
			"--listen-ng", ng, "--port-min", "23000", "--port-max", "23999", "--listen-http", "",
			"--audit-log", filepath.Join(dir, "audit.jsonl"), "--log-level", "debug"}
	default:
		t.Fatalf("SRTPGW_INTEROP_RELAY=%q: want srtpgw or rtpengine", relay)
	}
	logPath := filepath.Join(dir, "relay.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("---- relay log tail ----\n%s", b)
		}
	})
	for start := time.Now(); ; {
		if _, err := ngcPing(ng); err == nil {
			t.Logf("%s answers ng on %s after %v", bin, ng, time.Since(start).Round(time.Millisecond))
			return port
		}
		select {
		case <-done:
			t.Fatalf("%s exited before answering ng ping", bin)
		case <-ctx.Done():
			t.Fatal("relay did not answer ng ping")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ngcPing is the one request the test builds itself: the ng client has no
// ping command.
func ngcPing(addr string) (string, error) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.Write([]byte("ngc_ping d7:command4:pinge")); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	b := make([]byte, 1500)
	n, err := c.Read(b)
	if err != nil {
		return "", err
	}
	if r := string(b[:n]); r != "ngc_ping d6:result4:ponge" {
		return "", fmt.Errorf("ping reply %q", r)
	}
	return string(b[:n]), nil
}

// ngcRun runs rtpengine-ng-client. Its UDP recv has no timeout, so each run
// is bounded here.
func ngcRun(ctx context.Context, t *testing.T, port int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	full := append([]string{"--proxy-address=127.0.0.1", "--proxy-port=" + strconv.Itoa(port)}, args...)
	out, err := exec.CommandContext(ctx, "rtpengine-ng-client", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("rtpengine-ng-client %s: %v\n%s", args[0], err, out)
	}
	return string(out)
}

func ngcListen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ngcCollect reads c in the background; the returned func reports how many
// DTLS handshake records (content type 22, RFC 6347 s4.1) and how many
// RTP/RTCP-range datagrams (first byte 128-191, RFC 7983 s7) arrived.
func ngcCollect(c *net.UDPConn) func() (dtls, rtp int) {
	var mu sync.Mutex
	var nDTLS, nRTP int
	go func() {
		b := make([]byte, 2048)
		for {
			n, _, err := c.ReadFromUDP(b)
			if err != nil {
				return
			}
			mu.Lock()
			switch {
			case n > 13 && b[0] == 22:
				nDTLS++
			case n > 0 && b[0] >= 128 && b[0] <= 191:
				nRTP++
			}
			mu.Unlock()
		}
	}()
	return func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return nDTLS, nRTP
	}
}

// ngcSDP is a one-audio-stream SDP at 127.0.0.1:port.
func ngcSDP(port int, proto, extra string) string {
	return "v=0\r\no=- 1545997027 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d %s 0 101\r\n", port, proto) +
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n" + extra
}

// ngcFakeFingerprint is a well-formed sha-256 fingerprint of no certificate:
// the handshake can never complete, so no keys exist during the test.
func ngcFakeFingerprint() string {
	parts := make([]string, 32)
	for i := range parts {
		parts[i] = fmt.Sprintf("%02X", (i*37+11)&0xff)
	}
	return strings.Join(parts, ":")
}

// ngcRTP is a plain RTP packet (RFC 3550 s5.1), PCMU, SSRC 0x11223344.
func ngcRTP(seq uint16) []byte {
	p := make([]byte, 12+ngcPayload)
	p[0] = 0x80
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], uint32(seq)*ngcPayload)
	binary.BigEndian.PutUint32(p[8:], 0x11223344)
	for i := 12; i < len(p); i++ {
		p[i] = 0xff // mu-law silence
	}
	return p
}

// ngcSDPInfo is the part of an SDP the test checks.
type ngcSDPInfo struct {
	origin, conn, proto string
	port                int
	attrs               []string // every a= line, session and media level
}

func (s ngcSDPInfo) attr(name string) string {
	for _, a := range s.attrs {
		if n, v, ok := strings.Cut(a, ":"); ok && strings.EqualFold(n, name) {
			return v
		}
	}
	return ""
}

// ngcNewSDP extracts the "New SDP" block the ng client prints.
func ngcNewSDP(t *testing.T, out string) ngcSDPInfo {
	t.Helper()
	_, rest, ok := strings.Cut(out, "New SDP:\n")
	if !ok {
		t.Fatalf("no new SDP in:\n%s", out)
	}
	_, rest, _ = strings.Cut(rest, "\n")
	sdp, _, _ := strings.Cut(rest, "----->8")
	var s ngcSDPInfo
	for _, l := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "o=") && len(f) == 6:
			s.origin = f[5]
		case strings.HasPrefix(l, "c=") && len(f) == 3:
			s.conn = f[2]
		case strings.HasPrefix(l, "m=audio") && len(f) >= 3:
			s.port, _ = strconv.Atoi(f[1])
			s.proto = f[2]
		case strings.HasPrefix(l, "a="):
			s.attrs = append(s.attrs, l[2:])
		}
	}
	return s
}

// ngcCheckSDP checks an SDP produced by the relay for one side.
func ngcCheckSDP(t *testing.T, what string, s ngcSDPInfo, proto, addr string, dtls bool) ngcSDPInfo {
	t.Helper()
	t.Logf("%s reply: %s %s:%d, attributes %q", what, s.proto, s.conn, s.port, s.attrs)
	if s.proto != proto || s.conn != addr || s.origin != addr {
		t.Errorf("%s: proto %q c=%q o=%q, want %q and %s in c= and o= (replace origin/session-connection)",
			what, s.proto, s.conn, s.origin, proto, addr)
	}
	if s.port < 23000 || s.port > 23999 {
		t.Errorf("%s: port %d outside --port-min/--port-max 23000-23999", what, s.port)
	}
	if !slices.Contains(s.attrs, "rtpmap:0 PCMU/8000") {
		t.Errorf("%s: PCMU lost", what)
	}
	if s.attr("crypto") != "" || s.attr("ice-ufrag") != "" || s.attr("candidate") != "" {
		t.Errorf("%s: has a=crypto or ICE although SDES=off ICE=remove", what)
	}
	fp := s.attr("fingerprint")
	if !dtls {
		if fp != "" || s.attr("setup") != "" {
			t.Errorf("%s: plain side carries a=fingerprint/a=setup", what)
		}
		return s
	}
	// RFC 8122 s5: hash function token and 32 hex bytes for SHA-256.
	alg, hex, _ := strings.Cut(fp, " ")
	if alg != "sha-256" || len(strings.Split(hex, ":")) != 32 {
		t.Errorf("%s: a=fingerprint:%s, want sha-256 with 32 bytes", what, fp)
	}
	return s
}

// ngcCheckStats checks a query or delete reply (ng-protocol.md b.9).
func ngcCheckStats(t *testing.T, what string, v any) {
	t.Helper()
	if n, err := strconv.ParseInt(ngcStr(ngcGet(v, "created")), 10, 64); err != nil || n <= 0 {
		t.Errorf("%s: created = %v", what, ngcGet(v, "created"))
	}
	for tag, label := range map[string]string{"ft-phone": "phone", "tt-upstream": "upstream"} {
		if got := ngcStr(ngcGet(v, "tags", tag, "label")); got != label {
			t.Errorf("%s: tags.%s.label = %q, want %q", what, tag, got, label)
		}
	}
	// The phone's media: counted on the relay's lan side, protocol RTP/AVP.
	ph := ngcGet(v, "tags", "ft-phone", "medias", "0")
	if p := ngcStr(ngcGet(ph, "protocol")); p != "RTP/AVP" {
		t.Errorf("%s: phone media protocol %q", what, p)
	}
	st := ngcGet(ph, "streams", "0")
	if a := ngcStr(ngcGet(st, "local address")); a != ngcLAN {
		t.Errorf("%s: phone stream local address %q", what, a)
	}
	pk := ngcNum(ngcGet(st, "stats", "packets"))
	by := ngcNum(ngcGet(st, "stats", "bytes"))
	if pk != ngcRTPCount || by != ngcRTPCount*(12+ngcPayload) {
		t.Errorf("%s: phone stream stats packets %d bytes %d, want %d and %d", what, pk, by, ngcRTPCount, ngcRTPCount*(12+ngcPayload))
	}
	up := ngcGet(v, "tags", "tt-upstream", "medias", "0")
	if p := ngcStr(ngcGet(up, "protocol")); p != "UDP/TLS/RTP/SAVP" {
		t.Errorf("%s: upstream media protocol %q", what, p)
	}
	flags, _ := ngcGet(up, "flags").([]any)
	if !slices.Contains(flags, any("DTLS-SRTP")) {
		t.Errorf("%s: upstream media flags %v lack DTLS-SRTP", what, flags)
	}
	// Kamailio reads totals for $rtpstat. Undeliverable (keyless) packets
	// are errors on the sink side in rtpengine (ng-protocol.md b.7).
	tp := ngcNum(ngcGet(v, "totals", "RTP", "packets"))
	te := ngcNum(ngcGet(v, "totals", "RTP", "errors"))
	t.Logf("%s: phone stream %d packets/%d bytes; totals RTP packets %d errors %d; upstream flags %v", what, pk, by, tp, te, flags)
	if tp < ngcRTPCount {
		t.Errorf("%s: totals.RTP.packets %d, want >= %d", what, tp, ngcRTPCount)
	}
	if te < 0 {
		t.Errorf("%s: totals.RTP.errors missing", what)
	}
}

// ngcGet walks maps by key and lists by decimal index; nil if absent.
func ngcGet(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func ngcStr(v any) string { s, _ := v.(string); return s }

// ngcNum reads a number; Data::Dumper quotes most of them. -1 if absent.
func ngcNum(v any) int64 {
	n, err := strconv.ParseInt(ngcStr(v), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// ngcDumper parses the "Result dictionary" block: Perl Data::Dumper output
// (Terse, Indent=1) of the decoded reply.
func ngcDumper(t *testing.T, out string) any {
	t.Helper()
	_, rest, ok := strings.Cut(out, "Result dictionary:\n")
	if !ok {
		t.Fatalf("no result dictionary in:\n%s", out)
	}
	_, rest, _ = strings.Cut(rest, "\n")
	body, _, _ := strings.Cut(rest, "----->8")
	p := &ngcDumperParser{s: body}
	v, err := p.value()
	if err != nil {
		t.Fatalf("parse Data::Dumper output: %v\n%s", err, body)
	}
	return v
}

type ngcDumperParser struct {
	s string
	i int
}

func (p *ngcDumperParser) skip() {
	for p.i < len(p.s) && strings.ContainsRune(" \t\r\n", rune(p.s[p.i])) {
		p.i++
	}
}

func (p *ngcDumperParser) value() (any, error) {
	p.skip()
	if p.i >= len(p.s) {
		return nil, errors.New("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{' || c == '[':
		return p.container(c)
	case c == '\'':
		return p.quoted()
	case strings.HasPrefix(p.s[p.i:], "undef"):
		p.i += len("undef")
		return nil, nil
	default:
		if b := p.bare(); b != "" {
			return b, nil
		}
		return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i], p.i)
	}
}

func (p *ngcDumperParser) container(open byte) (any, error) {
	closer := byte(']')
	m := map[string]any{}
	var l []any
	if open == '{' {
		closer = '}'
	}
	p.i++
	for {
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == closer {
			p.i++
			if open == '{' {
				return m, nil
			}
			return l, nil
		}
		if open == '{' {
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			p.skip()
			if !strings.HasPrefix(p.s[p.i:], "=>") {
				return nil, fmt.Errorf("want => at %d", p.i)
			}
			p.i += 2
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = v
		} else {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated container")
		}
	}
}

// quoted reads a single-quoted Perl string: only \\ and \' are escapes.
func (p *ngcDumperParser) quoted() (any, error) {
	var b strings.Builder
	for p.i++; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		if c == '\\' && p.i+1 < len(p.s) && (p.s[p.i+1] == '\\' || p.s[p.i+1] == '\'') {
			p.i++
			b.WriteByte(p.s[p.i])
			continue
		}
		if c == '\'' {
			p.i++
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return nil, errors.New("unterminated string")
}

// bare reads an unquoted key or number.
func (p *ngcDumperParser) bare() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t\r\n,=}]", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}
