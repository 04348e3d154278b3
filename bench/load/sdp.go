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
	Mid         string         // a=mid (RFC 9143 §14.2), "" when absent
	ICE         ICEParams      // the party's ICE attributes (RFC 8839), zero without ICE
}

// ICEParams are what an ICE peer needs from an SDP (RFC 8839 §5): the
// credentials of the short-term STUN mechanism and where to send checks.
type ICEParams struct {
	Ufrag, Pwd string // a=ice-ufrag, a=ice-pwd; media level wins (§5.4)
	Lite       bool   // a=ice-lite (§5.3): the party never sends checks
	// Candidate is the first UDP candidate of component 1 (RTP) with a
	// literal IP address (§5.1); invalid when there is none.
	Candidate netip.AddrPort
}

// ParseSDP reads the first audio m= section. It is a deliberately small
// line parser: the load tool must not share an SDP library quirk with the
// relay it measures.
func ParseSDP(body string) (Media, error) {
	var (
		m                  Media
		sessConn, medConn  string
		sessSetup, sessFP  string
		sessUfrag, sessPwd string
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
			case k == "mid" && inAudio:
				m.Mid = v
			case k == "ice-lite" && !seenAudio:
				m.ICE.Lite = true
			case k == "ice-ufrag" && inAudio:
				m.ICE.Ufrag = v
			case k == "ice-ufrag" && !seenAudio:
				sessUfrag = v
			case k == "ice-pwd" && inAudio:
				m.ICE.Pwd = v
			case k == "ice-pwd" && !seenAudio:
				sessPwd = v
			case k == "candidate" && inAudio && !m.ICE.Candidate.IsValid():
				m.ICE.Candidate = parseCandidate(v)
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
	if m.ICE.Ufrag == "" {
		m.ICE.Ufrag = sessUfrag
	}
	if m.ICE.Pwd == "" {
		m.ICE.Pwd = sessPwd
	}
	return m, nil
}

// parseCandidate reads an a=candidate value ("foundation component
// transport priority address port typ type ...", RFC 8839 §5.1) and
// returns its address when it is a UDP candidate of component 1 with a
// literal IP; otherwise the zero AddrPort (e.g. an mDNS name, or RTCP's).
func parseCandidate(v string) netip.AddrPort {
	f := strings.Fields(v)
	if len(f) < 8 || f[1] != "1" || !strings.EqualFold(f[2], "UDP") || f[6] != "typ" {
		return netip.AddrPort{}
	}
	addr, err := netip.ParseAddr(f[4])
	if err != nil {
		return netip.AddrPort{}
	}
	port, err := strconv.Atoi(f[5])
	if err != nil || port <= 0 || port > 65535 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(addr, uint16(port))
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
	return upstreamSDP(rtp, rtcp, proto, mux, setup, fingerprint, nil)
}

// answerICE is the ICE part of a simulated WebRTC upstream's answer.
type answerICE struct {
	creds iceCreds
	mid   string // echoed from the offer (RFC 9143 §7.3.1); "" = none
}

func upstreamSDP(rtp, rtcp netip.AddrPort, proto string, mux bool, setup, fingerprint string, ice *answerICE) string {
	a := rtp.Addr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 7000 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", a, a)
	if ice != nil && ice.mid != "" {
		fmt.Fprintf(&b, "a=group:BUNDLE %s\r\n", ice.mid)
	}
	fmt.Fprintf(&b, "m=audio %d %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n", rtp.Port(), proto)
	if ice != nil {
		// A full agent's answer (RFC 8839 §5): its credentials and its one
		// host candidate, the media socket itself; nothing is trickled.
		if ice.mid != "" {
			fmt.Fprintf(&b, "a=mid:%s\r\n", ice.mid)
		}
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ice.creds.ufrag, ice.creds.pwd)
		fmt.Fprintf(&b, "a=candidate:1 1 UDP %d %s %d typ host\r\na=end-of-candidates\r\n", hostPriority, a, rtp.Port())
	}
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
