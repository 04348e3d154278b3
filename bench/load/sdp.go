package load

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// Media is what a simulated peer needs from the relay's SDP.
type Media struct {
	RTP         netip.AddrPort // where to send media
	RTCP        netip.AddrPort // a=rtcp (RFC 3605), else RTP port+1; RTP when muxed
	Proto       string         // m= transport, e.g. "UDP/TLS/RTP/SAVP"
	Mux         bool           // a=rtcp-mux (RFC 5761)
	Setup       string         // a=setup (RFC 4145), media level wins
	Fingerprint string         // a=fingerprint value as written (RFC 8122)
}

// ParseSDP reads the first audio m= section. It is a deliberately small
// line parser: the load tool must not share an SDP library quirk with the
// relay it measures.
func ParseSDP(body string) (Media, error) {
	var (
		m                  Media
		sessConn, medConn  string
		sessSetup, sessFP  string
		inAudio, seenAudio bool
		port, rtcpPort     int
		rtcpAddr           string
	)
	for line := range strings.SplitSeq(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		val := line[2:]
		switch line[0] {
		case 'm':
			if seenAudio {
				inAudio = false
				continue
			}
			f := strings.Fields(val)
			if len(f) < 3 || f[0] != "audio" {
				continue
			}
			p, err := strconv.Atoi(f[1])
			if err != nil || p < 0 || p > 65535 {
				return m, fmt.Errorf("sdp: bad m= port %q", f[1])
			}
			port, m.Proto, inAudio, seenAudio = p, f[2], true, true
		case 'c':
			f := strings.Fields(val)
			if len(f) < 3 {
				return m, fmt.Errorf("sdp: bad c= line %q", line)
			}
			if inAudio {
				medConn = f[2]
			} else if !seenAudio {
				sessConn = f[2]
			}
		case 'a':
			k, v, _ := strings.Cut(val, ":")
			switch {
			case k == "rtcp-mux" && inAudio:
				m.Mux = true
			case k == "rtcp" && inAudio:
				f := strings.Fields(v)
				if len(f) == 0 {
					return m, fmt.Errorf("sdp: empty a=rtcp")
				}
				p, err := strconv.Atoi(f[0])
				if err != nil || p <= 0 || p > 65535 {
					return m, fmt.Errorf("sdp: bad a=rtcp %q", v)
				}
				rtcpPort = p
				if len(f) >= 4 {
					rtcpAddr = f[3]
				}
			case k == "setup" && inAudio:
				m.Setup = v
			case k == "setup" && !seenAudio:
				sessSetup = v
			case k == "fingerprint" && inAudio:
				m.Fingerprint = v
			case k == "fingerprint" && !seenAudio:
				sessFP = v
			}
		}
	}
	if !seenAudio {
		return m, errors.New("sdp: no audio m= line")
	}
	conn := medConn
	if conn == "" {
		conn = sessConn
	}
	addr, err := netip.ParseAddr(conn)
	if err != nil {
		return m, fmt.Errorf("sdp: bad connection address %q", conn)
	}
	m.RTP = netip.AddrPortFrom(addr, uint16(port))
	m.RTCP = netip.AddrPortFrom(addr, uint16(port+1))
	if rtcpPort != 0 {
		ra := addr
		if rtcpAddr != "" {
			if ra, err = netip.ParseAddr(rtcpAddr); err != nil {
				return m, fmt.Errorf("sdp: bad a=rtcp address %q", rtcpAddr)
			}
		}
		m.RTCP = netip.AddrPortFrom(ra, uint16(rtcpPort))
	}
	if m.Mux {
		m.RTCP = m.RTP
	}
	// Session-level setup and fingerprint apply when the media section
	// has none (baresip writes them there; DESIGN §11).
	if m.Setup == "" {
		m.Setup = sessSetup
	}
	if m.Fingerprint == "" {
		m.Fingerprint = sessFP
	}
	return m, nil
}

// PhoneSDP is a legacy desk phone's offer: plain RTP/AVP, G.711 µ-law and
// telephone-event, 20 ms ptime, RTCP on the next port (RFC 3550 §11).
func PhoneSDP(rtp netip.AddrPort, sessID uint64) string {
	a := rtp.Addr().String()
	return fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n", sessID, a, a, rtp.Port())
}

// UpstreamSDP is the upstream's answer. With dtls it is DTLS-SRTP
// (RFC 5763 §5: the answerer picks active or passive and shows its
// certificate fingerprint); without, plain RTP/AVP for the bare forwarder.
// rtcp-mux is answered when the relay offered it (RFC 5761 §5.1.1);
// otherwise RTCP is announced on rtcp in the full a=rtcp form (RFC 3605),
// which some parsers need (DESIGN §11).
func UpstreamSDP(rtp, rtcp netip.AddrPort, proto string, mux bool, setup, fingerprint string) string {
	a := rtp.Addr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 7000 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", a, a)
	fmt.Fprintf(&b, "m=audio %d %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n", rtp.Port(), proto)
	if mux {
		b.WriteString("a=rtcp-mux\r\n")
	} else {
		fmt.Fprintf(&b, "a=rtcp:%d IN IP4 %s\r\n", rtcp.Port(), rtcp.Addr())
	}
	if fingerprint != "" {
		fmt.Fprintf(&b, "a=setup:%s\r\na=fingerprint:%s\r\n", setup, fingerprint)
	}
	return b.String()
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
