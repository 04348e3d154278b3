package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/srtpgw/srtpgw/bench/load"
)

// pktLen is one 20 ms G.711 packet: a 12-byte RTP header (RFC 3550 §5.1)
// and 160 bytes of payload. The payload starts with the flow id and a
// counter, so a receiver credits only packets of its own call.
const (
	pktLen    = 172
	rtpHdrLen = 12
)

type dtlsRecord struct {
	data []byte
	from netip.AddrPort
}

// endpoint is one simulated media socket (a phone's or an upstream's) and
// its receive loop, which counts the packets of the flow it expects.
type endpoint struct {
	conn   *net.UDPConn
	flow   uint32 // flow id expected in received packets
	secure bool   // SRTP (the upstream); plain RTP otherwise
	dec    atomic.Pointer[srtp.Context]
	dtlsIn chan dtlsRecord
	done   chan struct{}

	recv  atomic.Uint64 // packets of flow, authenticated where SRTP
	bad   atomic.Uint64 // wrong flow, failed authentication, unknown first byte
	early atomic.Uint64 // SRTP before this side had keys
}

func newEndpoint(addr netip.Addr, flow uint32, secure bool) (*endpoint, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		return nil, err
	}
	e := &endpoint{conn: c, flow: flow, secure: secure, done: make(chan struct{})}
	if secure {
		e.dtlsIn = make(chan dtlsRecord, 16)
	}
	go e.readLoop()
	return e, nil
}

func (e *endpoint) addr() netip.AddrPort { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (e *endpoint) readLoop() {
	defer close(e.done)
	buf := make([]byte, 2048)
	plain := make([]byte, 2048)
	var hdr rtp.Header
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP feedback surfacing as a read error
		}
		b := buf[:n]
		switch {
		case n > 0 && b[0] >= 20 && b[0] <= 63 && e.secure: // DTLS (RFC 7983)
			select {
			case e.dtlsIn <- dtlsRecord{append([]byte(nil), b...), from}:
			default: // pion retransmits a lost flight
			}
		case n >= 2 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223): // RTP, not RTCP
			if e.secure {
				dec := e.dec.Load()
				if dec == nil {
					e.early.Add(1)
					continue
				}
				out, err := dec.DecryptRTP(plain[:0], b, &hdr)
				if err != nil {
					e.bad.Add(1)
					continue
				}
				b = out
			}
			if len(b) >= rtpHdrLen+8 && binary.BigEndian.Uint32(b[rtpHdrLen:]) == e.flow {
				e.recv.Add(1)
			} else {
				e.bad.Add(1)
			}
		case n >= 2 && b[0] >= 128 && b[0] <= 191: // RTCP: the soak sends none
		default:
			e.bad.Add(1)
		}
	}
}

func (e *endpoint) close() {
	e.conn.Close()
	<-e.done
}

// flow is one paced RTP stream toward srtpgw. Only the pacer's goroutine
// calls Send, so the buffers and the SRTP context need no lock (pion's
// contexts are not goroutine-safe).
type flow struct {
	conn  *net.UDPConn
	dst   netip.AddrPort
	enc   *srtp.Context // nil: plain RTP (the phone)
	hdr   rtp.Header
	id    uint32
	seq   uint16
	ts    uint32
	count uint32
	pkt   [pktLen]byte
	out   [pktLen + 32]byte

	sent atomic.Uint64
	errs atomic.Uint64
}

func newFlow(conn *net.UDPConn, dst netip.AddrPort, enc *srtp.Context, id uint32) *flow {
	f := &flow{conn: conn, dst: dst, enc: enc, id: id, seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	f.pkt[0] = 0x80 // V=2 (RFC 3550 §5.1)
	f.pkt[1] = 0    // PCMU (RFC 3551 §6)
	binary.BigEndian.PutUint32(f.pkt[8:], rand.Uint32())
	for i := rtpHdrLen; i < pktLen; i++ {
		f.pkt[i] = 0xff // µ-law silence
	}
	binary.BigEndian.PutUint32(f.pkt[rtpHdrLen:], id)
	return f
}

// Send emits the next packet; a packet counts as sent once the socket took
// it.
func (f *flow) Send() {
	p := f.pkt[:]
	binary.BigEndian.PutUint16(p[2:], f.seq)
	binary.BigEndian.PutUint32(p[4:], f.ts)
	binary.BigEndian.PutUint32(p[rtpHdrLen+4:], f.count)
	f.seq++
	f.ts += 160
	f.count++
	if f.enc != nil {
		out, err := f.enc.EncryptRTP(f.out[:0], p, &f.hdr)
		if err != nil {
			f.errs.Add(1)
			return
		}
		p = out
	}
	if _, err := f.conn.WriteToUDPAddrPort(p, f.dst); err != nil {
		f.errs.Add(1)
		return
	}
	f.sent.Add(1)
}

// call is one simulated call: a phone (plain RTP) and an upstream
// (DTLS-SRTP) anchored by srtpgw, with a paced flow each way.
type call struct {
	idx                    int
	id, fromTag, toTag     string
	phone, up              *endpoint
	phoneFlow, upFlow      *flow
	dc                     *dtls.Conn
	pacers                 [2]*Pacer // of phoneFlow, upFlow
	offered                bool
	started                time.Time
	lostUp, lostDown       uint64
	sentUp, sentDown       uint64
	recvUpPkts, recvDnPkts uint64
}

// setupCall plays Kamailio, the phone and the upstream: ng offer (the
// phone's RTP/AVP SDP, DTLS-SRTP asked toward the upstream, rtcp-mux
// offered), the upstream's answer (a=setup:active), ng answer, the DTLS
// handshake, and an ng query until srtpgw reports its SRTP keys, so that
// no packet is sent before both sides can carry it.
func (r *runner) setupCall(ctx context.Context, idx int) (c *call, err error) {
	c = &call{idx: idx, id: fmt.Sprintf("soak-%d-%d@srtpgw-soak", r.runID, idx),
		fromTag: "ph" + strconv.Itoa(idx), toTag: "up" + strconv.Itoa(idx)}
	defer func() {
		if err != nil {
			r.deleteCall(c) // an offered call must not wait for --timeout
			r.closeCall(c)
		}
	}()
	upID, downID := uint32(idx*2), uint32(idx*2+1)
	if c.phone, err = newEndpoint(r.cfg.PhoneAddr, downID, false); err != nil {
		return c, err
	}
	if c.up, err = newEndpoint(r.cfg.UpstreamAddr, upID, true); err != nil {
		return c, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SetupTimeout)
	defer cancel()
	rep, err := r.ng.Do(ctx, map[string]any{
		"command": "offer", "call-id": c.id, "from-tag": c.fromTag,
		"sdp":                load.PhoneSDP(c.phone.addr(), uint64(1000+idx)),
		"transport-protocol": "UDP/TLS/RTP/SAVP", "ICE": "remove", "SDES": []any{"off"},
		"rtcp-mux": []any{"offer"}, "replace": []any{"origin", "session-connection"},
		"supports": []any{"load limit"}, "received-from": []any{"IP4", r.cfg.PhoneAddr.String()},
	})
	if err != nil {
		return c, fmt.Errorf("offer: %w", err)
	}
	c.offered = true
	toUp, err := load.ParseSDP(str(rep, "sdp"))
	if err != nil {
		return c, fmt.Errorf("offer reply: %w", err)
	}
	rep, err = r.ng.Do(ctx, map[string]any{
		"command": "answer", "call-id": c.id, "from-tag": c.fromTag, "to-tag": c.toTag,
		"sdp": load.UpstreamSDP(c.up.addr(), c.up.addr(), toUp.Proto, toUp.Mux, "active", r.tls.fp),
		"ICE": "remove", "transport-protocol": "RTP/AVP", "rtcp-mux": []any{"demux"},
		"replace":  []any{"origin", "session-connection"},
		"supports": []any{"load limit"}, "received-from": []any{"IP4", r.cfg.UpstreamAddr.String()},
	})
	if err != nil {
		return c, fmt.Errorf("answer: %w", err)
	}
	toPhone, err := load.ParseSDP(str(rep, "sdp"))
	if err != nil {
		return c, fmt.Errorf("answer reply: %w", err)
	}
	enc, dec, dc, err := handshake(ctx, c.up, toUp.RTP, toUp.Fingerprint, r.tls)
	if err != nil {
		return c, err
	}
	c.dc = dc
	c.up.dec.Store(dec)
	if err := r.waitKeys(ctx, c.id); err != nil {
		return c, err
	}
	c.phoneFlow = newFlow(c.phone.conn, toPhone.RTP, nil, upID)
	c.upFlow = newFlow(c.up.conn, toUp.RTP, enc, downID)
	c.started = time.Now()
	c.pacers = [2]*Pacer{r.pacers[idx%len(r.pacers)], r.pacers[(idx+1)%len(r.pacers)]}
	c.pacers[0].Add(c.phoneFlow)
	c.pacers[1].Add(c.upFlow)
	return c, nil
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// waitKeys polls ng query until a stream of the call shows a crypto suite
// (srtpgw may finish its side of the handshake a moment after the peer).
func (r *runner) waitKeys(ctx context.Context, callID string) error {
	for {
		rep, err := r.ng.Do(ctx, map[string]any{"command": "query", "call-id": callID})
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		if hasKey(rep, "crypto suite") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("srtpgw reported no SRTP keys: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// hasKey reports whether a decoded ng reply holds key at any depth.
func hasKey(v any, key string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == key || hasKey(e, key) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasKey(e, key) {
				return true
			}
		}
	}
	return false
}

// endCall stops the call's media, waits for what is in flight, counts
// what did not arrive, then deletes the call over ng (as Kamailio does on
// BYE: no to-tag) and closes its sockets.
func (r *runner) endCall(c *call) error {
	if c.phoneFlow != nil {
		c.pacers[0].Remove(c.phoneFlow)
		c.pacers[1].Remove(c.upFlow)
		deadline := time.Now().Add(r.cfg.Drain)
		for {
			c.sentUp, c.sentDown = c.phoneFlow.sent.Load(), c.upFlow.sent.Load()
			c.recvUpPkts, c.recvDnPkts = c.up.recv.Load(), c.phone.recv.Load()
			if (c.recvUpPkts >= c.sentUp && c.recvDnPkts >= c.sentDown) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.lostUp = c.sentUp - min(c.sentUp, c.recvUpPkts)
		c.lostDown = c.sentDown - min(c.sentDown, c.recvDnPkts)
	}
	err := r.deleteCall(c)
	r.closeCall(c)
	return err
}

func (r *runner) deleteCall(c *call) error {
	if !c.offered {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.SetupTimeout)
	defer cancel()
	_, err := r.ng.Do(ctx, map[string]any{"command": "delete", "call-id": c.id, "from-tag": c.fromTag})
	return err
}

// closeCall releases the tool's side of a call.
func (r *runner) closeCall(c *call) {
	if c.dc != nil {
		c.dc.Close() // its close_notify goes to a port srtpgw has freed
	}
	for _, e := range []*endpoint{c.phone, c.up} {
		if e != nil {
			e.close()
		}
	}
}
