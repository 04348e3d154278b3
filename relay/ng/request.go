package ng

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

// This file turns an ng request dictionary into relay.Request,
// relay.DeleteRequest and relay.QueryRequest (ng-protocol.md b.6). Keys
// are matched folded (see fold), entries are applied in message order so
// that a later key overrides an earlier one as in rtpengine, and unknown
// keys are ignored (rtpengine only logs them, b.11 item 4). Values that
// decide the security of a leg (transport, DTLS role, fingerprint hash,
// addresses) are checked strictly and a bad one is an error reply; list
// tokens srtpgw does not model are ignored as rtpengine ignores them.

const (
	maxListLimit     = 1000  // `list` answers at most this many call-ids
	defaultListLimit = 32    // rtpengine's default `limit`
	maxDeleteDelay   = 86400 // seconds; a longer hold of ports is a mistake
)

// params is what srtpgw reads from one request, for any command.
type params struct {
	req               relay.Request
	supportsLoadLimit bool
	delay             time.Duration
	hasDelay          bool
	limit             int
}

func parseParams(d Value, client netip.AddrPort) (*params, error) {
	p := &params{limit: defaultListLimit}
	p.req.Client = client
	for _, e := range d.Entries() {
		if err := p.apply(e.Key, e.Value); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *params) apply(key string, v Value) error {
	r := &p.req
	var err error
	switch fold(key) {
	case "call id":
		r.CallID, err = str(key, v)
	case "from tag":
		r.FromTag, err = str(key, v)
	case "to tag":
		r.ToTag, err = str(key, v)
	case "via branch":
		r.ViaBranch, err = str(key, v)
	case "label", "from label", "set label":
		r.FromLabel, err = str(key, v)
	case "to label":
		r.ToLabel, err = str(key, v)
	case "sdp":
		if v.Kind() != KindString {
			return badValue(key, "a string")
		}
		// Cloned: the relay may keep the SDP after the datagram buffer
		// is gone.
		r.SDP = bytes.Clone(v.Bytes())
	case "transport protocol":
		err = p.transport(key, v)
	case "dtls", "dtls reverse":
		err = p.dtls(key, v)
	case "dtls fingerprint":
		var s string
		if s, err = str(key, v); err == nil {
			h, ok := fingerprintHashes[fold(strings.TrimSpace(s))]
			if !ok {
				return errFingerprintHash(s)
			}
			r.DTLSFingerprintHash = h
		}
	case "ice":
		err = eachToken(key, v, func(t string) {
			if m, ok := parseICE(t); ok {
				r.ICE = m
			}
		})
	case "rtcp mux":
		err = eachToken(key, v, func(t string) { applyRTCPMux(r, t) })
	case "sdes":
		err = eachToken(key, v, func(t string) { r.SDES = append(r.SDES, t) })
	case "osrtp":
		err = eachToken(key, v, func(t string) { r.OSRTP = append(r.OSRTP, t) })
	case "replace":
		err = eachToken(key, v, func(t string) { applyReplace(r, t) })
	case "flags":
		err = eachToken(key, v, func(t string) { applyFlag(r, t) })
	case "supports":
		err = eachToken(key, v, func(t string) {
			if fold(t) == "load limit" {
				p.supportsLoadLimit = true
			}
		})
	case "direction":
		err = p.direction(key, v)
	case "from interface":
		r.FromInterface, err = str(key, v)
	case "to interface":
		r.ToInterface, err = str(key, v)
	case "received from":
		err = p.receivedFrom(v)
	case "media address":
		var s string
		if s, err = str(key, v); err == nil {
			a, perr := netip.ParseAddr(strings.TrimSpace(s))
			if perr != nil || a.Zone() != "" {
				return errMediaAddress
			}
			r.MediaAddress = a.Unmap()
		}
	case "address family":
		var s string
		if s, err = str(key, v); err == nil {
			switch fold(strings.TrimSpace(s)) {
			case "ip4":
				r.AddressFamily = "IP4"
			case "ip6":
				r.AddressFamily = "IP6"
			default:
				return errAddressFamily
			}
		}
	case "delete delay":
		err = p.deleteDelay(key, v)
	case "limit":
		n, ok := number(v)
		if !ok || n < 0 {
			return errLimit
		}
		p.limit = int(min(n, maxListLimit))
	case "rtpp flags":
		// Kamailio >= 6.0 can send its whole flag string here instead of
		// the classic keys (ng-protocol.md b.6). Until srtpgw parses it,
		// refusing is safer than dropping flags that shape the legs.
		return errRTPPFlags
	}
	return err
}

func (p *params) transport(key string, v Value) error {
	s, err := str(key, v)
	if err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	if fold(s) == "accept" {
		p.req.TransportAccept = true
		return nil
	}
	t, ok := relay.ParseTransport(s)
	if !ok {
		return errTransport(s)
	}
	p.req.Transport = t
	return nil
}

func (p *params) dtls(key string, v Value) error {
	reverse := fold(key) == "dtls reverse"
	var bad string
	err := eachToken(key, v, func(t string) {
		m, ok := parseDTLSMode(t)
		switch {
		case !ok:
			bad = t
		case reverse:
			p.req.DTLSReverse = m
		default:
			p.req.DTLS = m
		}
	})
	if err == nil && bad != "" {
		err = errDTLSMode(key, bad)
	}
	return err
}

// direction is `["<from interface>", "<to interface>"]`; rtpengine uses
// the first two items and ignores the rest.
func (p *params) direction(key string, v Value) error {
	if v.Kind() != KindList {
		return badValue(key, "a list of interface names")
	}
	for i, it := range v.List() {
		s, ok := it.text()
		if !ok {
			return badValue(key, "a list of interface names")
		}
		switch i {
		case 0:
			p.req.FromInterface = s
		case 1:
			p.req.ToInterface = s
		}
	}
	return nil
}

// receivedFrom is `["IP4"|"IP6", "<address>"]` (what Kamailio sends) or a
// bare address string (rtpengine accepts both).
func (p *params) receivedFrom(v Value) error {
	var family, addr string
	switch v.Kind() {
	case KindString:
		addr = string(v.Bytes())
	case KindList:
		items := v.List()
		if len(items) != 2 {
			return errReceivedFrom
		}
		f, ok1 := items[0].Str()
		a, ok2 := items[1].Str()
		if !ok1 || !ok2 {
			return errReceivedFrom
		}
		family, addr = fold(strings.TrimSpace(f)), a
	default:
		return errReceivedFrom
	}
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil || a.Zone() != "" {
		return errReceivedFrom
	}
	switch family {
	case "":
		a = a.Unmap()
	case "ip4":
		if a = a.Unmap(); !a.Is4() {
			return errReceivedFrom
		}
	case "ip6":
		if !a.Is6() {
			return errReceivedFrom
		}
	default:
		return errReceivedFrom
	}
	p.req.ReceivedFrom = a
	return nil
}

// deleteDelay is seconds, as an integer (Kamailio) or a digit string. A
// negative value means "the configured default", as in rtpengine.
func (p *params) deleteDelay(key string, v Value) error {
	n, ok := number(v)
	if !ok || n > maxDeleteDelay {
		return errDeleteDelay(key)
	}
	if n >= 0 {
		p.delay, p.hasDelay = time.Duration(n)*time.Second, true
	}
	return nil
}

// offerAnswer returns the relay.Request of an offer or answer after the
// presence checks rtpengine makes, in its order (call_ng_basic_checks).
func (p *params) offerAnswer(answer bool) (*relay.Request, error) {
	r := p.req
	switch {
	case len(r.SDP) == 0:
		return nil, relay.ErrNoSDP
	case r.CallID == "":
		return nil, relay.ErrNoCallID
	case r.FromTag == "":
		return nil, relay.ErrNoFromTag
	case answer && r.ToTag == "":
		return nil, relay.ErrNoToTag
	}
	return &r, nil
}

func (p *params) deleteRequest() (*relay.DeleteRequest, error) {
	if p.req.CallID == "" {
		return nil, relay.ErrNoCallID
	}
	return &relay.DeleteRequest{
		CallID: p.req.CallID, FromTag: p.req.FromTag, ToTag: p.req.ToTag,
		ViaBranch: p.req.ViaBranch, Delay: p.delay, HasDelay: p.hasDelay,
		Client: p.req.Client,
	}, nil
}

func (p *params) queryRequest() (*relay.QueryRequest, error) {
	if p.req.CallID == "" {
		return nil, relay.ErrNoCallID
	}
	return &relay.QueryRequest{CallID: p.req.CallID, FromTag: p.req.FromTag, ToTag: p.req.ToTag}, nil
}

// str reads a scalar as a string.
func str(key string, v Value) (string, error) {
	s, ok := v.text()
	if !ok {
		return "", badValue(key, "a string")
	}
	return s, nil
}

// number reads an integer, or a string of decimal digits.
func number(v Value) (int64, bool) {
	if n, ok := v.Int(); ok {
		return n, true
	}
	s, ok := v.Str()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

// eachToken calls fn for each token of a list-valued key. rtpengine takes
// a list, or a string of comma-separated tokens (call_ng_flags_list).
func eachToken(key string, v Value, fn func(string)) error {
	switch v.Kind() {
	case KindString, KindInt:
		s, _ := v.text()
		for t := range strings.SplitSeq(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				fn(t)
			}
		}
		return nil
	case KindList:
		for _, it := range v.List() {
			s, ok := it.text()
			if !ok {
				return badValue(key, "a list of strings")
			}
			fn(s)
		}
		return nil
	}
	return badValue(key, "a list of strings")
}

// quote shows a client-supplied value in an error reply, bounded and
// printable (these values are flag words, never key material).
func quote(s string) string {
	const maxShown = 40
	if len(s) > maxShown {
		s = s[:maxShown] + "..."
	}
	return strconv.QuoteToASCII(s)
}
