package kamailio

// Just enough SDP reading (RFC 8866) for the harness to check what the relay
// offered and answered: one audio section, attributes at session or media
// level (baresip puts a=setup and a=fingerprint at session level, DESIGN.md
// s11).

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// sdpInfo is the part of a one-audio-stream SDP the harness checks.
type sdpInfo struct {
	conn    string   // c= address of the audio section (or the session's)
	port    string   // m=audio port
	proto   string   // m=audio transport protocol
	session []string // a= lines before the first m=, without "a="
	media   []string // a= lines of the audio section, without "a="
}

func parseSDP(sdp string) sdpInfo {
	var s sdpInfo
	var sessConn, mediaConn string
	inMedia := false
	for _, line := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "m="):
			f := strings.Fields(line[2:])
			inMedia = len(f) >= 3 && f[0] == "audio" && s.proto == ""
			if inMedia {
				s.port, s.proto = f[1], f[2]
			}
		case strings.HasPrefix(line, "c="):
			f := strings.Fields(line[2:])
			if len(f) == 3 {
				if inMedia {
					mediaConn = f[2]
				} else if s.proto == "" {
					sessConn = f[2]
				}
			}
		case strings.HasPrefix(line, "a="):
			if inMedia {
				s.media = append(s.media, line[2:])
			} else if s.proto == "" {
				s.session = append(s.session, line[2:])
			}
		}
	}
	s.conn = sessConn
	if mediaConn != "" {
		s.conn = mediaConn
	}
	return s
}

// attr returns the value of the first attribute named name (case-insensitive
// name, RFC 8866 s5.13), media level first, and whether it was found.
func (s sdpInfo) attr(name string) (string, bool) {
	for _, lvl := range [][]string{s.media, s.session} {
		for _, a := range lvl {
			n, v, _ := strings.Cut(a, ":")
			if strings.EqualFold(n, name) {
				return v, true
			}
		}
	}
	return "", false
}

// relaySockets returns the RTP and RTCP sockets an SDP produced by the relay
// advertises: the m= port, the a=rtcp port, or the next port (RFC 3605 s2.1,
// RFC 3550 s11).
func relaySockets(sdp string) map[netip.AddrPort]bool {
	s := parseSDP(sdp)
	ip, err := netip.ParseAddr(s.conn)
	port, perr := strconv.Atoi(s.port)
	if err != nil || perr != nil || port <= 0 || port > 65534 {
		return nil
	}
	out := map[netip.AddrPort]bool{
		netip.AddrPortFrom(ip, uint16(port)):   true,
		netip.AddrPortFrom(ip, uint16(port+1)): true,
	}
	if v, ok := s.attr("rtcp"); ok {
		if f := strings.Fields(v); len(f) > 0 {
			if p, err := strconv.Atoi(f[0]); err == nil && p > 0 && p < 65536 {
				out[netip.AddrPortFrom(ip, uint16(p))] = true
			}
		}
	}
	return out
}

func TestRelaySockets(t *testing.T) {
	got := relaySockets("v=0\r\nc=IN IP4 127.0.0.3\r\nm=audio 31000 UDP/TLS/RTP/SAVP 0\r\na=rtcp:31000\r\n")
	want := []string{"127.0.0.3:31000", "127.0.0.3:31001"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for _, w := range want {
		if !got[netip.MustParseAddrPort(w)] {
			t.Errorf("missing %s in %v", w, got)
		}
	}
	if relaySockets("v=0\r\nm=audio x RTP/AVP 0\r\n") != nil {
		t.Error("bad port accepted")
	}
}

func TestParseSDP(t *testing.T) {
	// Shape of a baresip 1.0.0 DTLS-SRTP answer: setup and fingerprint at
	// session level, fingerprint repeated at media level with "SHA-256".
	sdp := "v=0\r\no=- 1 2 IN IP4 127.0.0.20\r\ns=-\r\nc=IN IP4 127.0.0.20\r\nt=0 0\r\n" +
		"a=setup:active\r\na=fingerprint:SHA-256 AA:BB\r\n" +
		"m=audio 10014 UDP/TLS/RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=fingerprint:SHA-256 AA:BB\r\n" +
		"m=video 0 RTP/AVP 96\r\nc=IN IP4 10.9.9.9\r\n"
	s := parseSDP(sdp)
	if s.conn != "127.0.0.20" || s.port != "10014" || s.proto != "UDP/TLS/RTP/SAVP" {
		t.Errorf("conn %q port %q proto %q", s.conn, s.port, s.proto)
	}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"setup", "active", true},
		{"FINGERPRINT", "SHA-256 AA:BB", true},
		{"rtpmap", "0 PCMU/8000", true},
		{"crypto", "", false},
	}
	for _, tt := range tests {
		if v, ok := s.attr(tt.name); v != tt.want || ok != tt.ok {
			t.Errorf("attr(%s) = %q, %v", tt.name, v, ok)
		}
	}
	if m := parseSDP("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 0\r\nc=IN IP4 5.6.7.8\r\n"); m.conn != "5.6.7.8" {
		t.Errorf("media-level c= not preferred: %q", m.conn)
	}
}
