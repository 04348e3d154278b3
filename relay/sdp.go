package relay

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/srtpgw/srtpgw/crypto"
)

// MaxSDPSize bounds the SDP body the relay will parse (security requirement
// C4). Real offers are 200 B to 4 KiB; 64 KiB leaves room for many m= lines.
const MaxSDPSize = 64 << 10

// maxMedias bounds m= lines per SDP, and so the sockets one offer can bind.
const maxMedias = 8

// remoteSDP is what the relay reads from one party's SDP: where it wants
// media, in which transport, and with which DTLS parameters.
type remoteSDP struct {
	desc   *sdp.SessionDescription
	medias []remoteMedia
}

type remoteMedia struct {
	typ       string
	port      int // 0 = rejected or disabled stream (RFC 3264 §6)
	transport Transport
	addr      netip.Addr // effective connection address
	rtcp      netip.AddrPort
	mux       bool
	setup     string // a=setup value, media level winning over session level
	// fingerprints holds the acceptable a=fingerprint values; weak names a
	// refused hash (sha-1, md5) if one was offered, for the policy error.
	fingerprints []crypto.Fingerprint
	weak         string
	badFP        bool
	direction    string // sendrecv, sendonly, recvonly, inactive
	sdes         bool   // a=crypto present
	ice          bool   // ICE attributes present
	codec        string // first rtpmap encoding, for query output
}

// anyICE reports whether any m= line of the SDP uses ICE.
func (r *remoteSDP) anyICE() bool {
	for _, m := range r.medias {
		if m.ice {
			return true
		}
	}
	return false
}

// hold reports whether the party put this stream on hold, either way
// (RFC 3264 §8.4, or the RFC 2543 c=0.0.0.0 form old phones still send).
func (m *remoteMedia) hold() bool {
	return m.direction == "sendonly" || m.direction == "inactive" || (m.addr.IsValid() && m.addr.IsUnspecified())
}

// parseSDP parses and interprets one party's SDP. Errors wrap ErrBadSDP or
// ErrIncompleteSDP so the ng layer can answer with rtpengine's strings.
func parseSDP(body []byte) (*remoteSDP, error) {
	if len(body) == 0 {
		return nil, ErrNoSDP
	}
	if len(body) > MaxSDPSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrBadSDP, len(body), MaxSDPSize)
	}
	desc := &sdp.SessionDescription{}
	if err := desc.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	if len(desc.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no m= line", ErrIncompleteSDP)
	}
	if len(desc.MediaDescriptions) > maxMedias {
		return nil, fmt.Errorf("%w: %d m= lines, at most %d", ErrBadSDP, len(desc.MediaDescriptions), maxMedias)
	}
	sessAddr, err := connAddr(desc.ConnectionInformation)
	if err != nil {
		return nil, err
	}
	sessSetup, _ := desc.Attribute("setup")
	var sessFP []string
	for _, a := range desc.Attributes {
		if a.Key == "fingerprint" {
			sessFP = append(sessFP, a.Value)
		}
	}
	_, sessICE := desc.Attribute("ice-ufrag")

	out := &remoteSDP{desc: desc}
	for i, md := range desc.MediaDescriptions {
		m := remoteMedia{typ: md.MediaName.Media, port: md.MediaName.Port.Value, direction: "sendrecv"}
		proto := strings.Join(md.MediaName.Protos, "/")
		t, ok := ParseTransport(proto)
		if !ok {
			return nil, fmt.Errorf("%w: m= line %d: unsupported transport %q", ErrBadSDP, i+1, proto)
		}
		m.transport = t
		if m.port < 0 || m.port > 65535 {
			return nil, fmt.Errorf("%w: m= line %d: bad port %d", ErrBadSDP, i+1, m.port)
		}
		m.addr = sessAddr
		if md.ConnectionInformation != nil {
			a, err := connAddr(md.ConnectionInformation)
			if err != nil {
				return nil, err
			}
			m.addr = a
		}
		if m.port != 0 && !m.addr.IsValid() {
			return nil, fmt.Errorf("%w: m= line %d has no c= address", ErrIncompleteSDP, i+1)
		}
		m.setup = sessSetup
		fps := sessFP
		var mediaFP []string
		m.ice = sessICE
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtcp-mux":
				m.mux = true
			case "setup":
				m.setup = a.Value
			case "fingerprint":
				mediaFP = append(mediaFP, a.Value)
			case "sendrecv", "sendonly", "recvonly", "inactive":
				m.direction = a.Key
			case "crypto":
				m.sdes = true
			case "ice-ufrag", "candidate":
				m.ice = true
			case "rtpmap":
				if m.codec == "" {
					if _, enc, ok := strings.Cut(a.Value, " "); ok {
						m.codec = enc
					}
				}
			case "rtcp":
				ap, err := parseRTCPAttr(a.Value, m.addr)
				if err != nil {
					return nil, fmt.Errorf("%w: m= line %d: %v", ErrBadSDP, i+1, err)
				}
				m.rtcp = ap
			}
		}
		// Media-level fingerprints win over session-level ones (RFC 8122 §5;
		// DESIGN §11: baresip puts them at session level).
		if len(mediaFP) > 0 {
			fps = mediaFP
		}
		m.fingerprints, m.weak, m.badFP = parseFingerprints(fps)
		if !m.rtcp.IsValid() && m.port != 0 && m.addr.IsValid() {
			// RFC 3605 default: RTCP on the next port up, unless muxed.
			rp := m.port + 1
			if m.mux {
				rp = m.port
			}
			m.rtcp = netip.AddrPortFrom(m.addr, uint16(rp))
		}
		out.medias = append(out.medias, m)
	}
	return out, nil
}

// parseFingerprints keeps the acceptable fingerprints with the strongest hash
// offered (RFC 8122 §5). Weak hashes are reported, not accepted.
func parseFingerprints(vals []string) (ok []crypto.Fingerprint, weak string, malformed bool) {
	for _, v := range vals {
		fp, err := crypto.ParseFingerprint(v)
		if err != nil {
			if errors.Is(err, crypto.ErrWeakFingerprint) {
				if h, _, _ := strings.Cut(strings.TrimSpace(v), " "); weak == "" {
					weak = strings.ToLower(h)
				}
			} else {
				malformed = true
			}
			continue
		}
		ok = append(ok, fp)
	}
	return crypto.StrongestFingerprints(ok), weak, malformed
}

func connAddr(c *sdp.ConnectionInformation) (netip.Addr, error) {
	if c == nil || c.Address == nil {
		return netip.Addr{}, nil
	}
	if c.NetworkType != "IN" || (c.AddressType != "IP4" && c.AddressType != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: c= %s %s not supported", ErrBadSDP, c.NetworkType, c.AddressType)
	}
	host, _, _ := strings.Cut(c.Address.Address, "/") // multicast TTL suffix
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: c= address %q is not an IP address", ErrBadSDP, host)
	}
	return a.Unmap(), nil
}

// parseRTCPAttr reads "a=rtcp:PORT [IN IP4 ADDR]" (RFC 3605 §2.1).
func parseRTCPAttr(v string, def netip.Addr) (netip.AddrPort, error) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return netip.AddrPort{}, errors.New("empty a=rtcp")
	}
	port, err := strconv.Atoi(f[0])
	if err != nil || port <= 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("bad a=rtcp port %q", f[0])
	}
	addr := def
	if len(f) >= 4 {
		a, err := netip.ParseAddr(f[3])
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bad a=rtcp address %q", f[3])
		}
		addr = a.Unmap()
	}
	if !addr.IsValid() {
		return netip.AddrPort{}, nil
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// sdpOut tracks the SDP srtpgw produced for one party, so the o= version
// only moves when the content does (RFC 3264 §8: a changed description must
// carry a higher version; an unchanged one keeps it).
type sdpOut struct {
	body    string // last produced SDP with the o= line blanked
	version uint64
	set     bool
}

// renderOpts shape one produced SDP.
type renderOpts struct {
	offer       bool    // we are the offerer toward this party: a=setup:actpass
	replace     Replace // ng replace flags
	noRTCPAttr  bool
	generateMid bool
}

// strippedAttrs are never passed from one party to the other: transport and
// keying attributes describe the sender's own sockets and keys, and are
// replaced by srtpgw's. a=crypto in particular carries SDES keys (RFC 4568)
// and must never be forwarded or logged.
var strippedAttrs = map[string]bool{
	"setup": true, "fingerprint": true, "crypto": true, "tls-id": true,
	"ice-ufrag": true, "ice-pwd": true, "ice-options": true, "ice-lite": true,
	"ice-mismatch": true, "candidate": true, "end-of-candidates": true,
	"remote-candidates": true, "rtcp": true, "rtcp-mux": true, "rtcp-mux-only": true,
}

// render produces the SDP for the party of leg from src, the other party's
// SDP: same codecs, formats, ptime and direction, but srtpgw's addresses and
// ports for leg, leg's transport, and srtpgw's DTLS parameters where leg is
// DTLS-SRTP.
func (l *Leg) render(src *remoteSDP, opt renderOpts) ([]byte, error) {
	desc := cloneSession(src.desc)
	adv := l.iface.Advertised
	addrType := "IP4"
	if adv.Is6() {
		addrType = "IP6"
	}
	conn := func(a netip.Addr) *sdp.ConnectionInformation {
		return &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: a.String()}}
	}
	if opt.replace&(ReplaceOrigin|ReplaceOriginFull) != 0 {
		desc.Origin.NetworkType, desc.Origin.AddressType = "IN", addrType
		desc.Origin.UnicastAddress = adv.String()
	}
	if opt.replace&ReplaceOriginFull != 0 {
		desc.Origin.Username = "-"
	}
	if opt.replace&ReplaceSessionName != 0 {
		desc.SessionName = "srtpgw"
	}
	// srtpgw never passes one party's own address to the other: every c=
	// names srtpgw, so media cannot bypass the relay and LAN addresses do
	// not leak upstream. The RFC 2543 hold address is kept as it is,
	// except from an ICE party, whose 0.0.0.0 is only a placeholder
	// default (RFC 8840 §4.1.1), never hold.
	heldAddr := func(c *sdp.ConnectionInformation, ice bool) bool {
		a, _ := connAddr(c)
		return !ice && a.IsValid() && a.IsUnspecified()
	}
	if desc.ConnectionInformation != nil {
		if !heldAddr(desc.ConnectionInformation, src.anyICE()) {
			desc.ConnectionInformation = conn(adv)
		}
	} else {
		desc.ConnectionInformation = conn(adv)
	}
	desc.EncryptionKey = nil // k= lines can carry keys (RFC 8866 §5.12)
	desc.Attributes = filterAttrs(desc.Attributes, true)
	iceOn := l.ice && l.secure()
	if iceOn {
		desc.Attributes = append(desc.Attributes, sdp.NewPropertyAttribute("ice-lite")) // RFC 8839 §5.3
		// WebRTC stacks expect BUNDLE (pion rejects an unbundled m= line).
		// srtpgw gives each m= line its own ports, so it bundles only when
		// there is a single m= line: a BUNDLE group of one (RFC 9143 §7.2).
		if len(l.medias) == 1 {
			mid := "0"
			if v, ok := desc.MediaDescriptions[0].Attribute("mid"); ok {
				mid = v
			}
			desc.Attributes = append(desc.Attributes, sdp.NewAttribute("group", "BUNDLE "+mid))
		}
	}

	for i, md := range desc.MediaDescriptions {
		if i >= len(l.medias) {
			return nil, fmt.Errorf("internal: media %d has no streams", i+1)
		}
		m := l.medias[i]
		md.EncryptionKey = nil
		md.MediaName.Protos = strings.Split(l.transport.String(), "/")
		if m.disabled {
			md.MediaName.Port = sdp.RangedPort{Value: 0}
			md.Attributes = filterAttrs(md.Attributes, false)
			continue
		}
		md.MediaName.Port = sdp.RangedPort{Value: int(m.rtp.advertised.Port())}
		if md.ConnectionInformation != nil && !heldAddr(md.ConnectionInformation, src.medias[i].ice) {
			md.ConnectionInformation = conn(adv)
		}
		md.Attributes = filterAttrs(md.Attributes, false)
		if opt.generateMid || iceOn {
			if _, ok := md.Attribute("mid"); !ok {
				md.Attributes = append(md.Attributes, sdp.NewAttribute("mid", strconv.Itoa(i)))
			}
		}
		// RFC 3605 full form: some parsers (aiortc) trip over "a=rtcp:PORT".
		// Offering rtcp-mux keeps the fallback RTCP port in a=rtcp (RFC
		// 5761 §5.1.3): a peer that declines mux sends RTCP, and runs its
		// RTCP DTLS handshake, there. Only a negotiated or required mux
		// names the RTP port.
		mux := m.mux
		if opt.offer {
			mux = m.offerMux
		}
		rtcpPort := m.rtcp.advertised.Port()
		if m.mux || (opt.offer && m.onlyMux) {
			rtcpPort = m.rtp.advertised.Port()
		}
		if !(opt.noRTCPAttr && mux) {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("rtcp",
				fmt.Sprintf("%d IN %s %s", rtcpPort, addrType, adv)))
		}
		if mux {
			md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
		}
		if iceOn && (opt.offer || m.peerICE) {
			md.Attributes = append(md.Attributes,
				sdp.NewAttribute("ice-ufrag", l.iceCreds.ufrag),
				sdp.NewAttribute("ice-pwd", l.iceCreds.pwd))
			for _, c := range candidateLines(m, adv, m.mux || (opt.offer && m.onlyMux)) {
				md.Attributes = append(md.Attributes, sdp.NewAttribute("candidate", c))
			}
			md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("end-of-candidates"))
		}
		if l.transport.DTLS() {
			setup := "actpass"
			if !opt.offer {
				setup = m.role.Setup()
			}
			md.Attributes = append(md.Attributes,
				sdp.NewAttribute("setup", setup),
				sdp.NewAttribute("fingerprint", l.call.cert.Fingerprint().String()))
		}
	}
	body, err := desc.Marshal()
	if err != nil {
		return nil, fmt.Errorf("rewriting SDP: %w", err)
	}
	return l.stampVersion(desc, body)
}

// stampVersion keeps the o= version of the SDP produced for this party
// monotonic and content-driven (RFC 3264 §8).
func (l *Leg) stampVersion(desc *sdp.SessionDescription, body []byte) ([]byte, error) {
	s := string(body)
	start := strings.Index(s, "o=")
	end := strings.Index(s[start:], "\r\n")
	if start < 0 || end < 0 {
		return nil, errors.New("rewriting SDP: no o= line")
	}
	blanked := s[:start] + s[start+end:]
	switch {
	case !l.sdp.set:
		l.sdp.version = desc.Origin.SessionVersion
	case blanked != l.sdp.body:
		l.sdp.version = max(l.sdp.version+1, desc.Origin.SessionVersion)
	}
	l.sdp.body, l.sdp.set = blanked, true
	if desc.Origin.SessionVersion == l.sdp.version {
		return body, nil
	}
	desc.Origin.SessionVersion = l.sdp.version
	return desc.Marshal()
}

func filterAttrs(in []sdp.Attribute, session bool) []sdp.Attribute {
	out := make([]sdp.Attribute, 0, len(in))
	for _, a := range in {
		if strippedAttrs[a.Key] {
			continue
		}
		// BUNDLE (RFC 9143) needs one transport shared by several m= lines;
		// srtpgw anchors each m= line on its own ports.
		if session && a.Key == "group" && strings.HasPrefix(a.Value, "BUNDLE") {
			continue
		}
		out = append(out, a)
	}
	return out
}

// cloneSession deep-copies the parts of an SDP that render modifies.
func cloneSession(in *sdp.SessionDescription) *sdp.SessionDescription {
	out := *in
	if in.ConnectionInformation != nil {
		c := *in.ConnectionInformation
		if c.Address != nil {
			a := *c.Address
			c.Address = &a
		}
		out.ConnectionInformation = &c
	}
	out.Attributes = append([]sdp.Attribute(nil), in.Attributes...)
	out.MediaDescriptions = make([]*sdp.MediaDescription, len(in.MediaDescriptions))
	for i, md := range in.MediaDescriptions {
		m := *md
		if md.ConnectionInformation != nil {
			c := *md.ConnectionInformation
			if c.Address != nil {
				a := *c.Address
				c.Address = &a
			}
			m.ConnectionInformation = &c
		}
		m.MediaName.Protos = append([]string(nil), md.MediaName.Protos...)
		m.MediaName.Formats = append([]string(nil), md.MediaName.Formats...)
		m.Attributes = append([]sdp.Attribute(nil), md.Attributes...)
		out.MediaDescriptions[i] = &m
	}
	return &out
}
