package forwarder

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// endpoint is where a party wants its media, read from its SDP.
type endpoint struct {
	rtp, rtcp netip.AddrPort
}

// rewrite reads the peer's media address from sdp (first audio m= line,
// c= at media or session level, a=rtcp when present, else port+1 per
// RFC 3550 §11) and returns the SDP with our address and ports in their
// place: o= and c= addresses, the m= port and a=rtcp. Everything else is
// passed through, as a relay without media handling would.
func rewrite(sdp string, addr netip.Addr, rtpPort, rtcpPort int) (string, endpoint, error) {
	lines := strings.Split(sdp, "\n")
	var (
		ep                 endpoint
		sessConn, medConn  string
		port, rtcpPeer     int
		inAudio, seenAudio bool
		rtcpAddr           string
	)
	a := addr.String()
	for i, raw := range lines {
		line := strings.TrimRight(raw, "\r")
		cr := line != raw
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		out := line
		switch line[0] {
		case 'o':
			if f := strings.Fields(line); len(f) == 6 {
				f[5] = a
				out = strings.Join(f, " ")
			}
		case 'c':
			f := strings.Fields(line)
			if len(f) != 3 {
				return "", ep, fmt.Errorf("bad c= line %q", line)
			}
			if inAudio {
				medConn = f[2]
			} else if !seenAudio {
				sessConn = f[2]
			}
			out = "c=IN IP4 " + a
		case 'm':
			if seenAudio {
				inAudio = false
				continue
			}
			f := strings.Fields(line[2:])
			if len(f) < 3 || f[0] != "audio" {
				continue
			}
			p, err := strconv.Atoi(f[1])
			if err != nil || p <= 0 || p > 65535 {
				return "", ep, fmt.Errorf("bad m= port %q", f[1])
			}
			port, inAudio, seenAudio = p, true, true
			f[1] = strconv.Itoa(rtpPort)
			out = "m=" + strings.Join(f, " ")
		case 'a':
			if v, ok := strings.CutPrefix(line, "a=rtcp:"); ok && inAudio {
				f := strings.Fields(v)
				p, err := strconv.Atoi(f[0])
				if err != nil {
					return "", ep, fmt.Errorf("bad a=rtcp %q", line)
				}
				rtcpPeer = p
				if len(f) == 4 {
					rtcpAddr = f[3]
				}
				out = fmt.Sprintf("a=rtcp:%d IN IP4 %s", rtcpPort, a)
			}
		}
		if cr {
			out += "\r"
		}
		lines[i] = out
	}
	if !seenAudio {
		return "", ep, errors.New("no audio m= line")
	}
	conn := medConn
	if conn == "" {
		conn = sessConn
	}
	ip, err := netip.ParseAddr(conn)
	if err != nil {
		return "", ep, fmt.Errorf("bad connection address %q", conn)
	}
	ep.rtp = netip.AddrPortFrom(ip, uint16(port))
	ep.rtcp = netip.AddrPortFrom(ip, uint16(port+1))
	if rtcpPeer != 0 {
		rip := ip
		if rtcpAddr != "" {
			if rip, err = netip.ParseAddr(rtcpAddr); err != nil {
				return "", ep, fmt.Errorf("bad a=rtcp address %q", rtcpAddr)
			}
		}
		ep.rtcp = netip.AddrPortFrom(rip, uint16(rtcpPeer))
	}
	return strings.Join(lines, "\n"), ep, nil
}
