// Package sim holds the simulated peers srtpgw is tested and demonstrated
// with: a legacy phone that speaks plain RTP, and an upstream that speaks
// DTLS-SRTP through pion/dtls and pion/srtp directly — not through srtpgw's
// own crypto package, so that a whole-call test pits srtpgw against an
// implementation path it does not share.
package sim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Media is what a simulated peer reads from the other side's SDP.
type Media struct {
	RTP, RTCP   netip.AddrPort
	Proto       string
	Mux         bool
	Setup       string
	Fingerprint string // "sha-256 AB:..." as written
	Direction   string
}

// ParseMedia reads the first m= line of body.
func ParseMedia(body []byte) (Media, error) {
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return Media{}, err
	}
	if len(d.MediaDescriptions) == 0 {
		return Media{}, fmt.Errorf("no m= line")
	}
	md := d.MediaDescriptions[0]
	var m Media
	conn := d.ConnectionInformation
	if md.ConnectionInformation != nil {
		conn = md.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return m, fmt.Errorf("no c= line")
	}
	addr, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return m, err
	}
	m.Proto = strings.Join(md.MediaName.Protos, "/")
	m.RTP = netip.AddrPortFrom(addr, uint16(md.MediaName.Port.Value))
	m.RTCP = netip.AddrPortFrom(addr, uint16(md.MediaName.Port.Value+1))
	m.Direction = "sendrecv"
	m.Setup, _ = d.Attribute("setup")
	m.Fingerprint, _ = d.Attribute("fingerprint")
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtcp-mux":
			m.Mux = true
		case "setup":
			m.Setup = a.Value
		case "fingerprint":
			m.Fingerprint = a.Value
		case "sendonly", "recvonly", "inactive", "sendrecv":
			m.Direction = a.Key
		case "rtcp":
			f := strings.Fields(a.Value)
			p, err := strconv.Atoi(f[0])
			if err != nil {
				return m, fmt.Errorf("bad a=rtcp %q", a.Value)
			}
			ra := addr
			if len(f) >= 4 {
				if ra, err = netip.ParseAddr(f[3]); err != nil {
					return m, err
				}
			}
			m.RTCP = netip.AddrPortFrom(ra, uint16(p))
		}
	}
	if m.Mux {
		m.RTCP = m.RTP
	}
	return m, nil
}
