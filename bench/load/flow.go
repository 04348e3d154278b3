package load

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// PacketWriter is the one socket call a sender needs; *net.UDPConn has it.
type PacketWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// flow is one paced RTP stream: a phone's toward the relay, or an
// upstream's (SRTP) toward the relay. Only its wheel's goroutine calls
// Send, so the buffers and the SRTP context need no lock (pion contexts
// are not goroutine-safe).
type flow struct {
	st    *Stats
	dir   int
	id    uint32
	w     PacketWriter
	dst   netip.AddrPort
	enc   *srtp.Context // nil: plain RTP
	hdr   rtp.Header    // reused so EncryptRTP does not allocate one
	seq   uint16
	ts    uint32
	count uint32
	pkt   [PacketLen]byte
	out   [PacketLen + 32]byte // room for the SRTP auth tag (10 or 16 bytes)
}

func newFlow(st *Stats, dir int, id uint32, w PacketWriter, dst netip.AddrPort, enc *srtp.Context) *flow {
	f := &flow{st: st, dir: dir, id: id, w: w, dst: dst, enc: enc,
		seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	f.pkt[0] = 0x80 // V=2, no padding, extension or CSRC (RFC 3550 §5.1)
	f.pkt[1] = 0    // PT 0 = PCMU (RFC 3551 §6)
	binary.BigEndian.PutUint32(f.pkt[8:], rand.Uint32())
	for i := rtpHeaderLen; i < PacketLen; i++ {
		f.pkt[i] = 0xFF // µ-law silence
	}
	return f
}

// Send builds and sends the next packet. It allocates nothing.
func (f *flow) Send() {
	e := f.st.Epoch()
	p := f.pkt[:]
	binary.BigEndian.PutUint16(p[2:], f.seq)
	binary.BigEndian.PutUint32(p[4:], f.ts)
	f.seq++
	f.ts += 160 // 20 ms at 8 kHz
	writeProbe(p[rtpHeaderLen:], f.id, e, f.count, mono())
	f.count++
	if f.enc != nil {
		out, err := f.enc.EncryptRTP(f.out[:0], p, &f.hdr)
		if err != nil {
			f.st.sent(f.dir, e, err)
			return
		}
		p = out
	}
	_, err := f.w.WriteToUDPAddrPort(p, f.dst)
	f.st.sent(f.dir, e, err)
}

// endpoint is one simulated media socket and its receive goroutine.
type endpoint struct {
	conn *net.UDPConn
	dir  int // the direction of the media it receives
	rx   rxState
	dec  atomic.Pointer[srtp.Context] // set once keys exist; nil = plain RTP expected
	srtp bool
	// dtlsIn receives DTLS records (RFC 7983: first byte 20-63) for the
	// handshake; nil on plain sockets.
	dtlsIn chan []byte
	// ice receives STUN (RFC 7983: first byte 0-3) with -ice; nil before
	// the call's agent exists and without -ice.
	ice  atomic.Pointer[iceAgent]
	done chan struct{}
}

func newEndpoint(conn *net.UDPConn, dir int, flowID uint32, secure bool) *endpoint {
	e := &endpoint{conn: conn, dir: dir, srtp: secure, done: make(chan struct{})}
	e.rx.flow = flowID
	if secure {
		e.dtlsIn = make(chan []byte, 16)
	}
	return e
}

func (e *endpoint) addr() netip.AddrPort { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// readLoop receives until the socket is closed. Per packet it allocates
// nothing: one buffer for the datagram, one for the decrypted copy.
func (e *endpoint) readLoop(st *Stats) {
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
			continue // ICMP errors surface here (ECONNREFUSED): not ours to count
		}
		now := mono()
		b := buf[:n]
		switch {
		case n == 0:
			st.Invalid.Add(1)
		case b[0] >= 20 && b[0] <= 63 && e.dtlsIn != nil:
			select {
			case e.dtlsIn <- append([]byte(nil), b...):
			default: // pion retransmits; a full queue is a lost datagram
			}
		case b[0] >= 128 && b[0] <= 191 && n >= 2:
			if b[1] >= 192 && b[1] <= 223 { // RTCP (RFC 5761 §4)
				st.RTCP.Add(1)
				continue
			}
			if e.srtp {
				dec := e.dec.Load()
				if dec == nil {
					st.Early.Add(1)
					continue
				}
				out, err := dec.DecryptRTP(plain[:0], b, &hdr)
				if err != nil {
					st.AuthFail.Add(1)
					continue
				}
				b = out
			}
			st.record(e.dir, &e.rx, b, now)
		case b[0] <= 3: // STUN (RFC 7983): only -ice upstreams expect it
			if a := e.ice.Load(); a != nil {
				a.receive(b, from)
			} else {
				st.Invalid.Add(1)
			}
		default:
			st.Invalid.Add(1)
		}
	}
}

// close stops the socket and waits for its goroutine.
func (e *endpoint) close() {
	e.conn.Close()
	<-e.done
}
