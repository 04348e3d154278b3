// Package forwarder is the bare baseline of the benchmark: a plain UDP
// forwarder with the socket layout of a media relay (an RTP/RTCP port pair
// per leg per call, one goroutine per socket) and no crypto, driven over
// just enough ng (ping, offer, answer, delete) for the same load tool to
// drive it. What it costs per packet is what this machine's sockets cost;
// a relay's figure above it is what the relay itself adds.
package forwarder

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/srtpgw/srtpgw/relay/udp"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/srtpgw/srtpgw/bench/bencode"
	"github.com/srtpgw/srtpgw/bench/statickeys"
	"github.com/srtpgw/srtpgw/crypto"
)

// Interface is a named local address media ports are bound on.
type Interface struct {
	Name string
	Addr netip.Addr
}

// Config sets up a Server.
type Config struct {
	ListenNG         string
	Interfaces       []Interface // the first is the default for both legs
	PortMin, PortMax int
	// Poller, when set, makes the media sockets srtpgw's kind: read by
	// batched poller workers (epoll, recvmmsg, sendmmsg) instead of one
	// goroutine each, so srtpgw can be compared with the same strategy.
	Poller *udp.Poller
	// StaticSRTP, when not zero, makes this the keyed forwarder: media
	// toward the answerer (the upstream) is SRTP-protected and media from
	// it verified and decrypted with crypto.Session, srtpgw's wrapper
	// around pion's contexts, keyed from the call-id by bench/statickeys.
	// Nothing else of a relay is added (no source checks, no counters
	// beyond these): it is the floor of any relay built on pion's SRTP
	// with this socket strategy. It needs Poller.
	StaticSRTP crypto.Profile
}

// Server is the forwarder: one ng socket, a call table, a port cursor.
type Server struct {
	cfg  Config
	conn *net.UDPConn
	done chan struct{}

	mu        sync.Mutex // guards the fields below
	calls     map[string]*fcall
	cache     map[string]cached
	nextPort  int
	nextGroup uint32 // poller worker group of the next call
	closed    Stats  // counters of deleted calls
}

type cached struct {
	reply []byte
	at    time.Time
}

// cacheTTL keeps replies for retransmitted commands (ng-protocol.md b.3:
// rtpengine keeps them 30-60 s; Kamailio retries for about 5 s).
const cacheTTL = 60 * time.Second

// New binds the ng socket.
func New(cfg Config) (*Server, error) {
	if len(cfg.Interfaces) == 0 {
		return nil, errors.New("forwarder: no interface")
	}
	if cfg.PortMin < 1024 || cfg.PortMax > 65535 || cfg.PortMax-cfg.PortMin < 3 {
		return nil, fmt.Errorf("forwarder: bad port range %d-%d", cfg.PortMin, cfg.PortMax)
	}
	if cfg.StaticSRTP != 0 && cfg.Poller == nil {
		return nil, errors.New("forwarder: static SRTP is measured with the poller only")
	}
	addr, err := net.ResolveUDPAddr("udp", cfg.ListenNG)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, conn: conn, done: make(chan struct{}), calls: map[string]*fcall{},
		cache: map[string]cached{}, nextPort: cfg.PortMin + cfg.PortMin%2}, nil
}

// Addr is the ng address.
func (s *Server) Addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Serve answers ng commands until Close.
func (s *Server) Serve() error {
	defer close(s.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		cookie, body, ok := bytes.Cut(buf[:n], []byte{' '})
		if !ok || len(cookie) == 0 {
			continue // rtpengine drops these without a reply too (b.1)
		}
		key := from.String() + " " + string(cookie)
		s.mu.Lock()
		c, hit := s.cache[key]
		s.mu.Unlock()
		reply := c.reply
		if !hit {
			reply = s.handle(body)
			s.remember(key, reply)
		}
		out := append(append(append([]byte(nil), cookie...), ' '), reply...)
		s.conn.WriteToUDPAddrPort(out, from)
	}
}

func (s *Server) remember(key string, reply []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if len(s.cache) >= 4096 {
		for k, c := range s.cache {
			if now.Sub(c.at) > cacheTTL {
				delete(s.cache, k)
			}
		}
	}
	s.cache[key] = cached{reply: reply, at: now}
}

// Close stops ng and deletes every call.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	s.mu.Lock()
	calls := s.calls
	s.calls = map[string]*fcall{}
	s.mu.Unlock()
	for _, c := range calls {
		c.close()
	}
	return err
}

// Calls is the number of calls.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Stats sums the packet counters of live and deleted calls.
func (s *Server) Stats() *Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &Stats{}
	t.add(&s.closed)
	for _, c := range s.calls {
		t.add(&c.st)
	}
	return t
}

func (s *Server) handle(body []byte) []byte {
	req, err := bencode.DecodeDict(body)
	if err != nil {
		return errorReply("Failed to parse command")
	}
	var res map[string]any
	switch cmd := bencode.String(req, "command"); cmd {
	case "ping":
		res = map[string]any{"result": "pong"}
	case "offer":
		res, err = s.offer(req)
	case "answer":
		res, err = s.answer(req)
	case "delete":
		res = s.delete(req)
	case "":
		err = ngError(`Dictionary contains no key "command"`)
	default:
		err = ngError("Unrecognized command")
	}
	if err != nil {
		return errorReply(err.Error())
	}
	out, _ := bencode.Append(nil, res)
	return out
}

// ngError is an ng error-reason: rtpengine's exact strings, capitalised
// as clients match them (ng-protocol.md b.2).
type ngError string

func (e ngError) Error() string { return string(e) }

func errorReply(reason string) []byte {
	out, _ := bencode.Append(nil, map[string]any{"result": "error", "error-reason": reason})
	return out
}

// iface picks the interface named at position i of direction, or the first.
func (s *Server) iface(req map[string]any, i int) (netip.Addr, error) {
	dir := bencode.Strings(req, "direction")
	if len(dir) != 2 {
		return s.cfg.Interfaces[0].Addr, nil
	}
	for _, f := range s.cfg.Interfaces {
		if f.Name == dir[i] {
			return f.Addr, nil
		}
	}
	return netip.Addr{}, ngError(fmt.Sprintf("Unknown interface %q", dir[i]))
}

// offer allocates both legs: the offerer's on direction[0] and the
// answerer's on direction[1] (as rtpengine does, b.5), learns the
// offerer's address, and returns the SDP for the answerer.
func (s *Server) offer(req map[string]any) (map[string]any, error) {
	id, sdp := bencode.String(req, "call-id"), bencode.String(req, "sdp")
	if id == "" {
		return nil, ngError("No call-id in message")
	}
	if sdp == "" {
		return nil, ngError("No SDP body in message")
	}
	s.mu.Lock()
	if c := s.calls[id]; c != nil { // a re-offer: keep the ports
		s.mu.Unlock()
		out, ep, err := rewrite(sdp, addrOf(c.legs[1].rtp), c.legs[1].port, c.legs[1].port+1)
		if err != nil {
			return nil, ngError("Failed to parse SDP")
		}
		c.legs[0].setPeer(ep)
		return map[string]any{"result": "ok", "sdp": out}, nil
	}
	s.mu.Unlock()
	sess, err := s.staticSession(id)
	if err != nil {
		return nil, err
	}
	var legs [2]*leg
	for i := range legs {
		a, err := s.iface(req, i)
		if err == nil {
			legs[i], err = s.bindLeg(a)
		}
		if err != nil {
			for _, l := range legs[:i] {
				l.rtp.Close()
				l.rtcp.Close()
			}
			return nil, err
		}
	}
	s.nextGroup++
	c := &fcall{legs: legs, group: s.nextGroup, sess: sess}
	out, ep, err := rewrite(sdp, addrOf(legs[1].rtp), legs[1].port, legs[1].port+1)
	if err != nil {
		c.close()
		return nil, ngError("Failed to parse SDP")
	}
	legs[0].setPeer(ep)
	c.start()
	s.mu.Lock()
	s.calls[id] = c
	s.mu.Unlock()
	return map[string]any{"result": "ok", "sdp": out}, nil
}

// answer learns the answerer's address and returns the SDP for the offerer.
func (s *Server) answer(req map[string]any) (map[string]any, error) {
	s.mu.Lock()
	c := s.calls[bencode.String(req, "call-id")]
	s.mu.Unlock()
	if c == nil {
		return nil, ngError("Unknown call-id")
	}
	sdp := bencode.String(req, "sdp")
	if sdp == "" {
		return nil, ngError("No SDP body in message")
	}
	out, ep, err := rewrite(sdp, addrOf(c.legs[0].rtp), c.legs[0].port, c.legs[0].port+1)
	if err != nil {
		return nil, ngError("Failed to parse SDP")
	}
	c.legs[1].setPeer(ep)
	return map[string]any{"result": "ok", "sdp": out}, nil
}

func (s *Server) delete(req map[string]any) map[string]any {
	id := bencode.String(req, "call-id")
	s.mu.Lock()
	c := s.calls[id]
	delete(s.calls, id)
	s.mu.Unlock()
	if c == nil {
		return map[string]any{"result": "ok", "warning": "Call-ID not found or tags didn't match"}
	}
	c.close()
	s.mu.Lock()
	s.closed.add(&c.st)
	s.mu.Unlock()
	return map[string]any{"result": "ok"}
}

// bindLeg binds an even RTP port and the next one for RTCP on a,
// walking the range from a cursor so ports are not reused at once.
func (s *Server) bindLeg(a netip.Addr) (*leg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	span := (s.cfg.PortMax - s.cfg.PortMin + 1) / 2
	for range span {
		p := s.nextPort
		s.nextPort += 2
		if s.nextPort+1 > s.cfg.PortMax {
			s.nextPort = s.cfg.PortMin + s.cfg.PortMin%2
		}
		sys := udp.System{Poller: s.cfg.Poller}
		rtp, err := sys.ListenUDP(netip.AddrPortFrom(a, uint16(p)))
		if err != nil {
			continue
		}
		rtcp, err := sys.ListenUDP(netip.AddrPortFrom(a, uint16(p+1)))
		if err != nil {
			rtp.Close()
			continue
		}
		return &leg{rtp: rtp, rtcp: rtcp, port: p}, nil
	}
	return nil, ngError("Ran out of ports")
}

// staticSession is the keyed forwarder's Session for call id (nil when
// StaticSRTP is off): local keys protect what goes to the upstream.
func (s *Server) staticSession(id string) (*crypto.Session, error) {
	if s.cfg.StaticSRTP == 0 {
		return nil, nil
	}
	to, from, err := statickeys.Derive(id, s.cfg.StaticSRTP)
	if err != nil {
		return nil, err
	}
	return crypto.NewSession(crypto.SessionKeys{Profile: s.cfg.StaticSRTP,
		LocalKey: to.Key, LocalSalt: to.Salt, RemoteKey: from.Key, RemoteSalt: from.Salt}, 0)
}

func addrOf(c udp.Conn) netip.Addr { return udp.LocalAddrPort(c).Addr() }
