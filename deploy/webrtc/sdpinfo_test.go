package webrtc

// sdpInfo reads the parts of an SDP that decide whether a WebRTC stack can
// talk to the relay: ICE (RFC 8839 §5), DTLS (RFC 8842 §5, RFC 8122 §5),
// rtcp-mux (RFC 5761 §5.1.1), a=rtcp (RFC 3605 §2.1) and a=mid (RFC 9143
// §7). It is a line reader on purpose: it must describe a bad SDP, not
// reject it.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

type candidate struct {
	foundation string
	component  int
	transport  string
	priority   uint32
	addr       string
	port       int
	typ        string
}

func (c candidate) String() string {
	return fmt.Sprintf("%s %s:%d typ %s (component %d, priority %d)", c.transport, c.addr, c.port, c.typ, c.component, c.priority)
}

type sdpInfo struct {
	proto       string // of the first m= line
	port        int
	conn        string // c= address, media level wins
	payloads    []string
	mid         string
	iceLite     bool
	ufrag, pwd  string
	iceOptions  string
	candidates  []candidate
	endOfCands  bool
	setup       string // media level wins over session level
	fingerprint string // "sha-256 AB:..."
	rtcp        string // a=rtcp value as written
	rtcpMux     bool
	direction   string
	group       string // a=group
	crypto      bool   // any a=crypto (SDES), which must never appear on a DTLS leg
}

// rtcpForm is "none", "short" (a=rtcp:PORT) or "full" (a=rtcp:PORT IN IP4 ADDR).
func (s sdpInfo) rtcpForm() string {
	switch f := strings.Fields(s.rtcp); {
	case len(f) == 0:
		return "none"
	case len(f) >= 4:
		return "full"
	default:
		return "short"
	}
}

// fingerprintHash is the hash function of a=fingerprint, lower case.
func (s sdpInfo) fingerprintHash() string {
	h, _, _ := strings.Cut(s.fingerprint, " ")
	return strings.ToLower(h)
}

// parseSDP reads body; the first m= line is the one that counts (the
// harness sends one audio stream).
func parseSDP(body string) sdpInfo {
	var s sdpInfo
	// RFC 8842 §5 and RFC 8839 §5.4 allow these at session level; the
	// media level wins (DESIGN §11: baresip puts them at session level).
	eitherLevel := map[string]*string{"ice-ufrag": &s.ufrag, "ice-pwd": &s.pwd, "setup": &s.setup, "fingerprint": &s.fingerprint}
	session := map[string]string{}
	media := 0
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		typ, val := line[0], line[2:]
		if typ == 'm' {
			media++
			if media == 1 {
				f := strings.Fields(val)
				if len(f) >= 3 {
					s.port, _ = strconv.Atoi(f[1])
					s.proto = f[2]
					s.payloads = f[3:]
				}
			}
			continue
		}
		if media > 1 {
			continue
		}
		if typ == 'c' {
			if f := strings.Fields(val); len(f) == 3 {
				s.conn = f[2]
			}
			continue
		}
		if typ != 'a' {
			continue
		}
		key, v, _ := strings.Cut(val, ":")
		if field, ok := eitherLevel[key]; ok {
			if media == 0 {
				session[key] = v
			} else {
				*field = v
			}
			continue
		}
		switch key {
		case "ice-lite":
			s.iceLite = true
		case "ice-options":
			s.iceOptions = v
		case "candidate":
			if c, ok := parseCandidate(v); ok {
				s.candidates = append(s.candidates, c)
			}
		case "end-of-candidates":
			s.endOfCands = true
		case "mid":
			s.mid = v
		case "rtcp":
			s.rtcp = v
		case "rtcp-mux":
			s.rtcpMux = true
		case "sendrecv", "sendonly", "recvonly", "inactive":
			s.direction = key
		case "group":
			s.group = v
		case "crypto":
			s.crypto = true
		}
	}
	for key, field := range eitherLevel {
		if *field == "" {
			*field = session[key]
		}
	}
	return s
}

// parseCandidate reads "foundation component transport priority addr port
// typ type ..." (RFC 8839 §5.1).
func parseCandidate(v string) (candidate, bool) {
	f := strings.Fields(v)
	if len(f) < 8 || f[6] != "typ" {
		return candidate{}, false
	}
	comp, err1 := strconv.Atoi(f[1])
	prio, err2 := strconv.ParseUint(f[3], 10, 32)
	port, err3 := strconv.Atoi(f[5])
	if err1 != nil || err2 != nil || err3 != nil {
		return candidate{}, false
	}
	return candidate{foundation: f[0], component: comp, transport: strings.ToUpper(f[2]),
		priority: uint32(prio), addr: f[4], port: port, typ: f[7]}, true
}

// summary is one line for the test log and the README.
func (s sdpInfo) summary() string {
	lite := "full ICE"
	if s.iceLite {
		lite = "ICE-lite"
	}
	var cands []string
	for _, c := range s.candidates {
		cands = append(cands, c.String())
	}
	return fmt.Sprintf("%s port %d c=%s pt %v mid=%q; %s, ufrag %d chars, pwd %d chars, ice-options %q, candidates [%s] end-of-candidates=%v; setup:%s fingerprint %s; rtcp-mux=%v a=rtcp %s %q; group %q",
		s.proto, s.port, s.conn, s.payloads, s.mid, lite, len(s.ufrag), len(s.pwd), s.iceOptions,
		strings.Join(cands, ", "), s.endOfCands, s.setup, s.fingerprintHash(), s.rtcpMux, s.rtcpForm(), s.rtcp, s.group)
}

func TestParseSDP(t *testing.T) {
	// The shape rtpengine 10.5 produces for the WebRTC offer (short a=rtcp).
	rtpengineOffer := "v=0\r\no=- 1001 1 IN IP4 127.0.0.10\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n" +
		"m=audio 46000 UDP/TLS/RTP/SAVPF 0 101\r\na=mid:1\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" +
		"a=rtcp:46000\r\na=rtcp-mux\r\na=setup:actpass\r\na=fingerprint:sha-256 D0:87:D7\r\n" +
		"a=ice-ufrag:f7oe2dh0\r\na=ice-pwd:umaPVwrjXG3P29qcK2AGIbGW70\r\n" +
		"a=candidate:7e8K8CNDPb0Xco9Z 1 UDP 2130706431 127.0.0.3 46000 typ host\r\n"
	// Session-level ICE-lite, ufrag and fingerprint, full a=rtcp, a second
	// m= line that must be ignored.
	liteOffer := "v=0\r\ns=-\r\na=ice-lite\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n" +
		"a=fingerprint:SHA-256 AA:BB\r\na=setup:actpass\r\na=group:BUNDLE 0\r\n" +
		"m=audio 5000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.3\r\na=rtcp:5000 IN IP4 127.0.0.3\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.3 5000 typ host generation 0\r\na=candidate:bad\r\n" +
		"a=end-of-candidates\r\na=recvonly\r\n" +
		"m=video 6000 RTP/AVP 96\r\na=setup:passive\r\na=mid:v\r\n"
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, s sdpInfo)
	}{
		{"rtpengine offer", rtpengineOffer, func(t *testing.T, s sdpInfo) {
			if s.proto != "UDP/TLS/RTP/SAVPF" || s.port != 46000 || s.conn != "127.0.0.3" || s.mid != "1" {
				t.Errorf("m= line: %+v", s)
			}
			if s.iceLite || len(s.ufrag) != 8 || len(s.pwd) != 26 {
				t.Errorf("ICE: lite %v ufrag %q pwd %q", s.iceLite, s.ufrag, s.pwd)
			}
			if len(s.candidates) != 1 || s.candidates[0].addr != "127.0.0.3" || s.candidates[0].typ != "host" || s.candidates[0].priority != 2130706431 {
				t.Errorf("candidates %v", s.candidates)
			}
			if s.setup != "actpass" || s.fingerprintHash() != "sha-256" || !s.rtcpMux || s.rtcpForm() != "short" {
				t.Errorf("setup %q fp %q mux %v rtcp %q", s.setup, s.fingerprintHash(), s.rtcpMux, s.rtcpForm())
			}
			if s.direction != "sendrecv" || s.crypto {
				t.Errorf("direction %q crypto %v", s.direction, s.crypto)
			}
		}},
		{"ice-lite at session level", liteOffer, func(t *testing.T, s sdpInfo) {
			if !s.iceLite || s.ufrag != "abcd" || s.setup != "actpass" || s.fingerprintHash() != "sha-256" {
				t.Errorf("session-level attributes not read: %+v", s)
			}
			if s.rtcpForm() != "full" || s.rtcpMux || !s.endOfCands || s.direction != "recvonly" || s.mid != "" {
				t.Errorf("rtcp %q mux %v eoc %v dir %q mid %q", s.rtcpForm(), s.rtcpMux, s.endOfCands, s.direction, s.mid)
			}
			if len(s.candidates) != 1 || s.candidates[0].transport != "UDP" {
				t.Errorf("candidates %v (the malformed one must be skipped)", s.candidates)
			}
			if !strings.Contains(s.summary(), "ICE-lite") || !strings.Contains(s.summary(), "UDP 127.0.0.3:5000 typ host") {
				t.Errorf("summary %q", s.summary())
			}
		}},
		{"no rtcp, sdes", "m=audio 1 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n", func(t *testing.T, s sdpInfo) {
			if s.rtcpForm() != "none" || !s.crypto {
				t.Errorf("rtcp %q crypto %v", s.rtcpForm(), s.crypto)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, parseSDP(tt.in)) })
	}
}
