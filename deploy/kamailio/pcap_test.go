package kamailio

// A pcap reader and media classifier for the interop harness. dumpcap writes
// the capture (classic pcap, -P); this code reads the UDP datagrams back and
// sorts them by the first-byte rules of RFC 7983 s7, so the test can show
// what actually crossed each leg.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// udpPacket is one captured IPv4 UDP datagram.
type udpPacket struct {
	src, dst netip.AddrPort
	payload  []byte
}

// Link types from the tcpdump.org registry that dumpcap uses on Linux lo.
const (
	linkEthernet = 1   // DLT_EN10MB: Linux loopback
	linkRaw      = 101 // DLT_RAW: bare IP
	linkSLL      = 113 // DLT_LINUX_SLL: "any" device
)

// readPcap parses a classic pcap file (either byte order, micro- or
// nanosecond timestamps) and returns its IPv4 UDP datagrams. Other traffic is
// skipped; truncated records are an error because the test must not reason
// about partial packets.
func readPcap(b []byte) ([]udpPacket, error) {
	if len(b) < 24 {
		return nil, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, errors.New("pcap: bad magic (pcapng? run dumpcap with -P)")
	}
	link := bo.Uint32(b[20:24]) & 0x0fffffff
	var out []udpPacket
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return nil, errors.New("pcap: short record header")
		}
		incl := int(bo.Uint32(b[off+8:]))
		orig := int(bo.Uint32(b[off+12:]))
		off += 16
		if incl > len(b)-off {
			return nil, errors.New("pcap: record past end of file")
		}
		if incl != orig {
			return nil, fmt.Errorf("pcap: truncated record (%d of %d bytes): raise the snap length", incl, orig)
		}
		frame := b[off : off+incl]
		off += incl
		ip, ok := stripLink(link, frame)
		if !ok {
			continue
		}
		if p, ok := parseIPv4UDP(ip); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// stripLink returns the IPv4 packet inside a link-layer frame.
func stripLink(link uint32, f []byte) ([]byte, bool) {
	switch link {
	case linkEthernet:
		if len(f) < 14 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
			return nil, false
		}
		return f[14:], true
	case linkSLL:
		if len(f) < 16 || binary.BigEndian.Uint16(f[14:]) != 0x0800 {
			return nil, false
		}
		return f[16:], true
	case linkRaw:
		return f, true
	}
	return nil, false
}

// parseIPv4UDP extracts an unfragmented IPv4 UDP datagram (RFC 791, RFC 768).
func parseIPv4UDP(ip []byte) (udpPacket, bool) {
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return udpPacket{}, false
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || total < ihl+8 || total > len(ip) || ip[9] != 17 {
		return udpPacket{}, false
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // MF flag or fragment offset
		return udpPacket{}, false
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	udp := ip[ihl:total]
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < 8 || ulen > len(udp) {
		return udpPacket{}, false
	}
	return udpPacket{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp[0:])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(udp[2:])),
		payload: udp[8:ulen],
	}, true
}

// Packet kinds by first byte, RFC 7983 s7 (and RFC 5761 s4 for RTCP).
const (
	kindOther = "other"
	kindSTUN  = "stun"
	kindDTLS  = "dtls"
	kindRTP   = "rtp"
	kindRTCP  = "rtcp"
)

func classify(p []byte) string {
	if len(p) == 0 {
		return kindOther
	}
	switch b := p[0]; {
	case b <= 3:
		return kindSTUN
	case b >= 20 && b <= 63:
		return kindDTLS
	case b >= 128 && b <= 191:
		if len(p) >= 2 && p[1] >= 192 && p[1] <= 223 {
			return kindRTCP
		}
		if len(p) >= 12 {
			return kindRTP
		}
	}
	return kindOther
}

// dtlsContentTypes lists the record content types in a datagram, which may
// hold several DTLS records (RFC 6347 s4.1).
func dtlsContentTypes(p []byte) []uint8 {
	var out []uint8
	for len(p) >= 13 {
		out = append(out, p[0])
		n := 13 + int(binary.BigEndian.Uint16(p[11:]))
		if n > len(p) {
			break
		}
		p = p[n:]
	}
	return out
}

// buildPcap is the inverse of readPcap for tests: Ethernet-framed IPv4/UDP.
func buildPcap(pkts []udpPacket) []byte {
	var buf bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], linkEthernet)
	buf.Write(hdr)
	for _, p := range pkts {
		frame := make([]byte, 14+20+8+len(p.payload))
		binary.BigEndian.PutUint16(frame[12:], 0x0800)
		ip := frame[14:]
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(p.payload)))
		ip[8] = 64
		ip[9] = 17
		s, d := p.src.Addr().As4(), p.dst.Addr().As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		udp := ip[20:]
		binary.BigEndian.PutUint16(udp[0:], p.src.Port())
		binary.BigEndian.PutUint16(udp[2:], p.dst.Port())
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(p.payload)))
		copy(udp[8:], p.payload)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		buf.Write(rec)
		buf.Write(frame)
	}
	return buf.Bytes()
}

func TestReadPcapRoundTrip(t *testing.T) {
	in := []udpPacket{
		{src: netip.MustParseAddrPort("127.0.0.10:10000"), dst: netip.MustParseAddrPort("127.0.0.2:31000"), payload: []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff}},
		{src: netip.MustParseAddrPort("127.0.0.3:31002"), dst: netip.MustParseAddrPort("127.0.0.20:10002"), payload: []byte{22, 0xfe, 0xfd}},
	}
	got, err := readPcap(buildPcap(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("got %d packets, want %d", len(got), len(in))
	}
	for i := range in {
		if got[i].src != in[i].src || got[i].dst != in[i].dst || !bytes.Equal(got[i].payload, in[i].payload) {
			t.Errorf("packet %d = %+v, want %+v", i, got[i], in[i])
		}
	}
}

func TestReadPcapErrors(t *testing.T) {
	good := buildPcap([]udpPacket{{src: netip.MustParseAddrPort("127.0.0.1:1"), dst: netip.MustParseAddrPort("127.0.0.1:2"), payload: []byte("x")}})
	truncatedRec := bytes.Clone(good)
	binary.LittleEndian.PutUint32(truncatedRec[24+8:], 20) // incl_len < orig_len
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"pcapng magic", append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, make([]byte, 20)...)},
		{"cut record", good[:len(good)-1]},
		{"snaplen truncation", truncatedRec[:24+16+20]},
	}
	for _, tt := range tests {
		if _, err := readPcap(tt.in); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestClassify(t *testing.T) {
	rtp := append([]byte{0x80, 0x00}, make([]byte, 10)...)
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, kindOther},
		{[]byte{0x00, 0x01}, kindSTUN},
		{[]byte{22, 0xfe, 0xfd}, kindDTLS},
		{[]byte{23, 0xfe, 0xfd}, kindDTLS},
		{rtp, kindRTP},
		{[]byte{0x81, 200, 0, 6}, kindRTCP},
		{[]byte{0x80, 0x00}, kindOther}, // too short for RTP
		{[]byte{64}, kindOther},         // TURN channel range: not expected here
	}
	for _, tt := range tests {
		if got := classify(tt.in); got != tt.want {
			t.Errorf("classify(% x) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDTLSContentTypes(t *testing.T) {
	rec := func(ct byte, n int) []byte {
		r := []byte{ct, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, byte(n >> 8), byte(n)}
		return append(r, make([]byte, n)...)
	}
	got := dtlsContentTypes(append(rec(22, 5), rec(20, 1)...))
	if !bytes.Equal(got, []byte{22, 20}) {
		t.Errorf("content types = %v, want [22 20]", got)
	}
}
