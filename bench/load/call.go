package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
)

// call is one simulated phone call through the relay: the phone's socket
// and the upstream's socket, their two paced flows, and the DTLS
// association of the upstream.
type call struct {
	idx                    int
	callID, fromTag, toTag string
	phone, up              *endpoint
	upRTCP                 *endpoint // the upstream's RTCP port, without rtcp-mux
	phoneFlow, upFlow      *flow
	dc, dcRTCP             *dtls.Conn
	ice                    *iceAgent // -ice only
	offered                bool
	setup                  time.Duration
}

func flowID(idx, dir int) uint32 { return uint32(idx*2 + dir) }

// portBinder hands out even phone ports (RFC 3550 §11: RTP on an even
// port, RTCP on the next), skipping ports someone else holds.
type portBinder struct {
	mu   sync.Mutex
	addr netip.Addr
	next int
	base int
}

func (p *portBinder) bind() (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for tries := 0; tries < 20000; tries++ {
		if p.next < p.base || p.next > 65532 {
			p.next = p.base
		}
		port := p.next
		p.next += 2
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.addr, uint16(port))))
		if err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no free even port on %s", p.addr)
}

// setupCall plays Kamailio, the phone and the upstream for one call:
// offer (phone SDP) -> upstream answer -> answer -> DTLS -> SRTP keys.
// Its duration is the call setup time, offer sent to keys ready.
func (r *runner) setupCall(ctx context.Context, idx int) (c *call, err error) {
	c = &call{idx: idx,
		callID:  fmt.Sprintf("load-%d-%d@srtpgw-load", r.runID, idx),
		fromTag: "ph" + strconv.Itoa(idx), toTag: "up" + strconv.Itoa(idx)}
	defer func() {
		if err != nil {
			r.teardown(context.Background(), c)
			c = nil
		}
	}()
	pconn, err := r.phones.bind()
	if err != nil {
		return c, err
	}
	c.phone = newEndpoint(pconn, DirDown, flowID(idx, DirDown), false)
	go c.phone.readLoop(r.st)
	uconn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.UpstreamAddr, 0)))
	if err != nil {
		return c, err
	}
	secure := !r.cfg.PlainUpstream || r.cfg.StaticSRTP
	c.up = newEndpoint(uconn, DirUp, flowID(idx, DirUp), secure)
	go c.up.readLoop(r.st)
	if !r.cfg.RTCPMux {
		// Without rtcp-mux the RTCP port is a DTLS component of its own
		// (RFC 5764 §4.1): the upstream keys it too, as real peers do.
		rconn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.cfg.UpstreamAddr, 0)))
		if err != nil {
			return c, err
		}
		c.upRTCP = newEndpoint(rconn, DirUp, flowID(idx, DirUp), secure)
		go c.upRTCP.readLoop(r.st)
	}

	ctx, cancel := context.WithTimeout(ctx, r.cfg.SetupTimeout)
	defer cancel()
	start := time.Now()
	reply, err := r.ng.Do(ctx, r.offer(c))
	if err != nil {
		return c, err
	}
	c.offered = true
	toUp, err := ParseSDP(bstr(reply, "sdp"))
	if err != nil {
		return c, fmt.Errorf("offer reply: %w", err)
	}
	if !r.cfg.PlainUpstream && toUp.Fingerprint == "" {
		return c, fmt.Errorf("offer reply has no a=fingerprint: relay did not offer DTLS-SRTP (m= %s)", toUp.Proto)
	}
	var ice *answerICE
	relay := toUp.RTP // where DTLS and SRTP go
	if r.cfg.ICE {
		if err := checkICEOffer(toUp); err != nil {
			return c, err
		}
		local := newICECreds()
		ice = &answerICE{creds: local, mid: toUp.Mid}
		c.ice = newICEAgent(r.st, uconn, local, toUp.ICE)
		c.up.ice.Store(c.ice)
		relay = toUp.ICE.Candidate // the nominated pair's remote end (RFC 8445 §12.1)
	}
	reply, err = r.ng.Do(ctx, r.answer(c, toUp, ice))
	if err != nil {
		return c, err
	}
	toPhone, err := ParseSDP(bstr(reply, "sdp"))
	if err != nil {
		return c, fmt.Errorf("answer reply: %w", err)
	}
	c.phoneFlow = newFlow(r.st, DirUp, flowID(idx, DirUp), pconn, toPhone.RTP, nil)
	switch {
	case r.cfg.StaticSRTP:
		enc, dec, err := staticContexts(c.callID, r.cfg.GCM)
		if err != nil {
			return c, err
		}
		c.up.dec.Store(dec)
		c.upFlow = newFlow(r.st, DirDown, flowID(idx, DirDown), uconn, toUp.RTP, enc)
	case r.cfg.PlainUpstream:
		c.upFlow = newFlow(r.st, DirDown, flowID(idx, DirDown), uconn, toUp.RTP, nil)
	default:
		var rtcpErr error
		done := make(chan struct{})
		if c.upRTCP != nil && !toUp.Mux {
			go func() {
				defer close(done)
				// Its keys would protect SRTCP; the load sends none.
				_, _, c.dcRTCP, rtcpErr = handshake(ctx, c.upRTCP, toUp.RTCP, toUp.Fingerprint, r.tls)
			}()
		} else {
			close(done)
		}
		// With ICE, DTLS waits for a nominated pair (RFC 8842 §4).
		if c.ice != nil {
			if err := c.ice.connect(ctx); err != nil {
				return c, err
			}
		}
		enc, dec, dc, err := handshake(ctx, c.up, relay, toUp.Fingerprint, r.tls)
		<-done
		c.dc = dc
		if err == nil && rtcpErr != nil {
			err = fmt.Errorf("RTCP component: %w", rtcpErr)
		}
		if err != nil {
			return c, err
		}
		c.up.dec.Store(dec)
		c.upFlow = newFlow(r.st, DirDown, flowID(idx, DirDown), uconn, relay, enc)
	}
	c.setup = time.Since(start)
	return c, nil
}

func bstr(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// offer is the ng offer Kamailio would send for a phone's INVITE, asking
// for DTLS-SRTP toward the answerer (ng-protocol.md b.6, phone -> cloud).
func (r *runner) offer(c *call) map[string]any {
	req := map[string]any{
		"command":       "offer",
		"call-id":       c.callID,
		"from-tag":      c.fromTag,
		"sdp":           PhoneSDP(c.phone.addr(), uint64(1000+c.idx)),
		"ICE":           "remove",
		"SDES":          []any{"off"},
		"replace":       []any{"origin", "session-connection"},
		"supports":      []any{"load limit"},
		"received-from": []any{"IP4", r.cfg.PhoneAddr.String()},
	}
	switch {
	case r.cfg.PlainUpstream:
		req["transport-protocol"] = "RTP/AVP"
	case r.cfg.ICE:
		// What Kamailio's WebRTC flag asks for (ng-protocol.md): ICE-lite
		// toward the upstream, the WebRTC transport, rtcp-mux required
		// (RFC 8829 §5.1.1) and an a=mid for BUNDLE.
		req["ICE"] = "force"
		req["transport-protocol"] = "UDP/TLS/RTP/SAVPF"
		req["flags"] = []any{"generate-mid"}
	default:
		req["transport-protocol"] = "UDP/TLS/RTP/SAVP"
	}
	switch {
	case r.cfg.ICE:
		req["rtcp-mux"] = []any{"offer", "require"}
	case r.cfg.RTCPMux:
		req["rtcp-mux"] = []any{"offer"}
	default:
		req["rtcp-mux"] = []any{"demux"}
	}
	if len(r.cfg.Direction) == 2 {
		req["direction"] = []any{r.cfg.Direction[0], r.cfg.Direction[1]}
	}
	return req
}

// answer carries the upstream's SDP back (with ice, a full agent's); the
// relay's reply goes to the phone as plain RTP/AVP with RTCP
// demultiplexed and no ICE.
func (r *runner) answer(c *call, relay Media, ice *answerICE) map[string]any {
	proto, setup, fp := "RTP/AVP", "", ""
	if !r.cfg.PlainUpstream {
		proto, fp = relay.Proto, r.tls.fingerprint
		setup = r.cfg.DTLSSetup
	}
	return map[string]any{
		"command":            "answer",
		"call-id":            c.callID,
		"from-tag":           c.fromTag,
		"to-tag":             c.toTag,
		"sdp":                upstreamSDP(c.up.addr(), r.upstreamRTCP(c), proto, relay.Mux, setup, fp, ice),
		"ICE":                "remove",
		"transport-protocol": "RTP/AVP",
		"rtcp-mux":           []any{"demux"},
		"replace":            []any{"origin", "session-connection"},
		"supports":           []any{"load limit"},
		"received-from":      []any{"IP4", r.cfg.UpstreamAddr.String()},
	}
}

func (r *runner) upstreamRTCP(c *call) netip.AddrPort {
	if c.upRTCP != nil {
		return c.upRTCP.addr()
	}
	a := c.up.addr()
	return netip.AddrPortFrom(a.Addr(), a.Port()+1)
}

// teardown deletes the call at the relay (as Kamailio does on BYE: no
// to-tag) and closes its sockets. It returns the delete error, if any.
func (r *runner) teardown(ctx context.Context, c *call) error {
	var err error
	if c.offered {
		_, err = r.ng.Do(ctx, map[string]any{"command": "delete", "call-id": c.callID, "from-tag": c.fromTag})
		var ne *NGError
		if errors.As(err, &ne) && ne.Result == "ok" {
			err = nil
		}
	}
	for _, dc := range []*dtls.Conn{c.dc, c.dcRTCP} {
		if dc != nil {
			dc.Close() // its close_notify goes to a port the relay has freed
		}
	}
	if c.upRTCP != nil {
		c.upRTCP.close()
	}
	if c.phone != nil {
		c.phone.close()
	}
	if c.up != nil {
		c.up.close()
	}
	return err
}
