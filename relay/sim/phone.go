package sim

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Packet is one datagram a simulated peer received.
type Packet struct {
	From netip.AddrPort
	Data []byte
}

// Phone is a legacy desk phone: plain RTP on an even port, RTCP on the next
// one, G.711 µ-law (payload type 0), no encryption.
type Phone struct {
	RTPConn, RTCPConn *net.UDPConn
	SSRC              uint32
	seq               uint16
	ts                uint32
	remote            Media

	mu       sync.Mutex
	rtpIn    []Packet
	rtcpIn   []Packet
	received atomic.Uint64
	wg       sync.WaitGroup
}

// NewPhone binds an RTP/RTCP pair on addr.
func NewPhone(addr netip.Addr) (*Phone, error) {
	for port := 20000 + int(randUint32()%10000)*2; port < 65534; port += 2 {
		rtp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port))))
		if err != nil {
			continue
		}
		rtcp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(port+1))))
		if err != nil {
			rtp.Close()
			continue
		}
		p := &Phone{RTPConn: rtp, RTCPConn: rtcp, SSRC: randUint32(), seq: uint16(randUint32()), ts: randUint32()}
		p.wg.Add(2)
		go p.read(rtp, &p.rtpIn)
		go p.read(rtcp, &p.rtcpIn)
		return p, nil
	}
	return nil, fmt.Errorf("no free port pair on %s", addr)
}

// RTPAddr is the phone's RTP address.
func (p *Phone) RTPAddr() netip.AddrPort { return p.RTPConn.LocalAddr().(*net.UDPAddr).AddrPort() }

// OfferSDP is the phone's plain RTP/AVP offer (or answer) with PCMU and
// telephone-event, as a desk phone sends it.
func (p *Phone) OfferSDP(version int) []byte {
	a := p.RTPAddr()
	return []byte(fmt.Sprintf("v=0\r\no=- 1001 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n", version, a.Addr(), a.Addr(), a.Port()))
}

// SetRemote reads where the relay wants the phone's media.
func (p *Phone) SetRemote(sdp []byte) error {
	m, err := ParseMedia(sdp)
	if err != nil {
		return err
	}
	p.remote = m
	return nil
}

// Remote is what SetRemote read.
func (p *Phone) Remote() Media { return p.remote }

// RTPPacket builds the next 20 ms G.711 packet carrying payload.
func (p *Phone) RTPPacket(payload []byte) []byte {
	pkt := make([]byte, 12, 12+len(payload))
	pkt[0] = 0x80
	pkt[1] = 0 // PCMU
	binary.BigEndian.PutUint16(pkt[2:], p.seq)
	binary.BigEndian.PutUint32(pkt[4:], p.ts)
	binary.BigEndian.PutUint32(pkt[8:], p.SSRC)
	p.seq++
	p.ts += 160
	return append(pkt, payload...)
}

// Rewind moves the phone's sequence number back by n, as a handset that
// restarts its RTP stream on resume does.
func (p *Phone) Rewind(n uint16) { p.seq -= n }

// SendRTP sends one RTP packet carrying payload to the relay.
func (p *Phone) SendRTP(payload []byte) ([]byte, error) {
	pkt := p.RTPPacket(payload)
	_, err := p.RTPConn.WriteToUDPAddrPort(pkt, p.remote.RTP)
	return pkt, err
}

// SendRTCP sends an RTCP packet from the RTCP port to the relay's RTCP port.
func (p *Phone) SendRTCP(pkt []byte) error {
	_, err := p.RTCPConn.WriteToUDPAddrPort(pkt, p.remote.RTCP)
	return err
}

// ReceiverReport builds a minimal RTCP receiver report (RFC 3550 §6.4.2).
func ReceiverReport(ssrc uint32) []byte {
	b := make([]byte, 8)
	b[0] = 0x80
	b[1] = 201
	binary.BigEndian.PutUint16(b[2:], 1)
	binary.BigEndian.PutUint32(b[4:], ssrc)
	return b
}

func (p *Phone) read(c *net.UDPConn, into *[]Packet) {
	defer p.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		p.received.Add(1)
		p.mu.Lock()
		*into = append(*into, Packet{From: from, Data: append([]byte(nil), buf[:n]...)})
		p.mu.Unlock()
	}
}

// Received returns copies of what arrived on the RTP and RTCP ports.
func (p *Phone) Received() (rtp, rtcp []Packet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Packet(nil), p.rtpIn...), append([]Packet(nil), p.rtcpIn...)
}

// Count is the number of datagrams received so far.
func (p *Phone) Count() uint64 { return p.received.Load() }

// Close stops the phone.
func (p *Phone) Close() {
	p.RTPConn.Close()
	p.RTCPConn.Close()
	p.wg.Wait()
}
