package sim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"
)

// UpstreamConfig shapes a simulated DTLS-SRTP peer (a cloud PBX).
type UpstreamConfig struct {
	Addr netip.Addr
	// Setup is the a=setup the upstream answers with: "active" (it is the
	// DTLS client) or "passive".
	Setup string
	// Mux answers with rtcp-mux when the offer has it.
	Mux bool
	// Profiles are the SRTP profiles it offers or accepts; nil = pion's
	// defaults plus GCM.
	Profiles []dtls.SRTPProtectionProfile
	// AdvertiseCert, when set, is the certificate whose fingerprint goes
	// into the answer while the handshake uses another one: a
	// man-in-the-middle as seen from srtpgw.
	AdvertiseCert *tls.Certificate
	// Capture keeps every raw datagram the upstream receives.
	Capture bool
	// SkipRTCPHandshake leaves the separate RTCP port without a DTLS
	// association (peers that only key RTP exist).
	SkipRTCPHandshake bool
}

// Upstream is a DTLS-SRTP peer built on pion/dtls and pion/srtp directly.
type Upstream struct {
	cfg   UpstreamConfig
	cert  tls.Certificate
	comps []*component // [0] RTP (+RTCP when muxed), [1] RTCP
	relay Media
	mux   bool

	mu      sync.Mutex
	rtpIn   []Packet // decrypted
	rtcpIn  []Packet
	capture []Packet // raw
	authErr atomic.Uint64
	wg      sync.WaitGroup
}

// component is one socket with its DTLS association and SRTP contexts.
type component struct {
	u      *Upstream
	conn   *net.UDPConn
	dtlsIn chan Packet
	remote netip.AddrPort
	dconn  *dtls.Conn
	enc    atomic.Pointer[srtp.Context]
	dec    atomic.Pointer[srtp.Context]
	keys   [][]byte // master keys and salts, for leak tests
	prof   dtls.SRTPProtectionProfile
	suite  string
	closed chan struct{}
}

// NewUpstream binds the upstream's sockets.
func NewUpstream(cfg UpstreamConfig) (*Upstream, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, err
	}
	u := &Upstream{cfg: cfg, cert: cert}
	for range 2 {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.Addr, 0)))
		if err != nil {
			u.Close()
			return nil, err
		}
		comp := &component{u: u, conn: c, dtlsIn: make(chan Packet, 64), closed: make(chan struct{})}
		u.comps = append(u.comps, comp)
		u.wg.Add(1)
		go comp.read()
	}
	return u, nil
}

// Fingerprint is the sha-256 fingerprint of cert in SDP form.
func Fingerprint(cert tls.Certificate) string {
	sum := sha256.Sum256(cert.Certificate[0])
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return "sha-256 " + strings.Join(parts, ":")
}

// Answer reads the relay's offer and returns the upstream's answer.
func (u *Upstream) Answer(offer []byte) ([]byte, error) {
	m, err := ParseMedia(offer)
	if err != nil {
		return nil, err
	}
	u.relay = m
	u.mux = u.cfg.Mux && m.Mux
	return u.sdp(m.Proto, u.cfg.Setup), nil
}

// Offer is the upstream's own offer (cloud calls phone), setup actpass.
func (u *Upstream) Offer() []byte {
	u.mux = u.cfg.Mux
	return u.sdp("UDP/TLS/RTP/SAVP", "actpass")
}

// SetRemote reads the relay's answer to Offer.
func (u *Upstream) SetRemote(answer []byte) error {
	m, err := ParseMedia(answer)
	if err != nil {
		return err
	}
	u.relay = m
	u.mux = u.mux && m.Mux
	return nil
}

func (u *Upstream) sdp(proto, setup string) []byte {
	rtp := u.addr(0)
	fp := Fingerprint(u.cert)
	if u.cfg.AdvertiseCert != nil {
		fp = Fingerprint(*u.cfg.AdvertiseCert)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 7000 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", rtp.Addr(), rtp.Addr())
	fmt.Fprintf(&b, "m=audio %d %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", rtp.Port(), proto)
	if u.mux {
		b.WriteString("a=rtcp-mux\r\n")
	} else {
		fmt.Fprintf(&b, "a=rtcp:%d IN IP4 %s\r\n", u.addr(1).Port(), rtp.Addr())
	}
	fmt.Fprintf(&b, "a=setup:%s\r\na=fingerprint:%s\r\n", setup, fp)
	return []byte(b.String())
}

func (u *Upstream) addr(i int) netip.AddrPort {
	return u.comps[i].conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Connect runs the DTLS handshakes (one, or two without rtcp-mux, RFC 5764
// §4.1) with the relay's sockets and derives the SRTP contexts.
func (u *Upstream) Connect(ctx context.Context, client bool) error {
	n := 2
	if u.mux || u.cfg.SkipRTCPHandshake {
		n = 1
	}
	errs := make(chan error, n)
	for i := range n {
		c := u.comps[i]
		c.remote = u.relay.RTP
		if i == 1 {
			c.remote = u.relay.RTCP
		}
		go func() { errs <- c.handshake(ctx, client) }()
	}
	var all []error
	for range n {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// Remote is the relay's media address as read from its SDP.
func (u *Upstream) Remote() Media { return u.relay }

// KeyMaterial returns the SRTP master keys and salts of every association
// (both directions; srtpgw holds the same ones), so that a test can prove
// none of them appears in srtpgw's logs, call log or metrics.
func (u *Upstream) KeyMaterial() [][]byte {
	var out [][]byte
	for _, c := range u.comps {
		out = append(out, c.keys...)
	}
	return out
}

// Profile is the negotiated SRTP profile of the RTP component.
func (u *Upstream) Profile() dtls.SRTPProtectionProfile { return u.comps[0].prof }

// CipherSuite is the negotiated DTLS cipher suite.
func (u *Upstream) CipherSuite() string { return u.comps[0].suite }

func (c *component) handshake(ctx context.Context, client bool) error {
	profiles := c.u.cfg.Profiles
	if profiles == nil {
		profiles = []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80}
	}
	shared := []dtls.Option{
		dtls.WithCertificates(c.u.cert),
		dtls.WithSRTPProtectionProfiles(profiles...),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true),
	}
	pc := &demuxConn{c: c}
	raddr := net.UDPAddrFromAddrPort(c.remote)
	var (
		dc  *dtls.Conn
		err error
	)
	if client {
		opts := make([]dtls.ClientOption, 0, len(shared))
		for _, o := range shared {
			opts = append(opts, o)
		}
		dc, err = dtls.ClientWithOptions(pc, raddr, opts...)
	} else {
		opts := []dtls.ServerOption{dtls.WithClientAuth(dtls.RequireAnyClientCert)}
		for _, o := range shared {
			opts = append(opts, o)
		}
		dc, err = dtls.ServerWithOptions(pc, raddr, opts...)
	}
	if err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := dc.HandshakeContext(hctx); err != nil {
		dc.Close()
		return err
	}
	c.dconn = dc
	state, _ := dc.ConnectionState()
	prof, _ := dc.SelectedSRTPProtectionProfile()
	c.prof = prof
	c.suite = dtls.CipherSuiteName(state.CipherSuiteID)
	scfg := srtp.Config{Profile: srtp.ProtectionProfile(prof)}
	if err := scfg.ExtractSessionKeysFromDTLS(&state, client); err != nil {
		return err
	}
	c.keys = [][]byte{scfg.Keys.LocalMasterKey, scfg.Keys.LocalMasterSalt, scfg.Keys.RemoteMasterKey, scfg.Keys.RemoteMasterSalt}
	enc, err := srtp.CreateContext(scfg.Keys.LocalMasterKey, scfg.Keys.LocalMasterSalt, scfg.Profile)
	if err != nil {
		return err
	}
	dec, err := srtp.CreateContext(scfg.Keys.RemoteMasterKey, scfg.Keys.RemoteMasterSalt, scfg.Profile,
		srtp.SRTPReplayProtection(128), srtp.SRTCPReplayProtection(128))
	if err != nil {
		return err
	}
	c.enc.Store(enc)
	c.dec.Store(dec)
	return nil
}

func (c *component) read() {
	defer c.u.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			close(c.closed)
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		if c.u.cfg.Capture {
			c.u.mu.Lock()
			c.u.capture = append(c.u.capture, Packet{From: from, Data: pkt})
			c.u.mu.Unlock()
		}
		switch {
		case n > 0 && pkt[0] >= 20 && pkt[0] <= 63:
			select {
			case c.dtlsIn <- Packet{From: from, Data: pkt}:
			default:
			}
		case n > 1 && pkt[0] >= 128 && pkt[0] <= 191:
			c.media(pkt, from)
		}
	}
}

func (c *component) media(pkt []byte, from netip.AddrPort) {
	dec := c.dec.Load()
	if dec == nil {
		c.u.authErr.Add(1)
		return
	}
	u := c.u
	if pkt[1] >= 192 && pkt[1] <= 223 {
		out, err := dec.DecryptRTCP(nil, pkt, nil)
		if err != nil {
			u.authErr.Add(1)
			return
		}
		u.mu.Lock()
		u.rtcpIn = append(u.rtcpIn, Packet{From: from, Data: out})
		u.mu.Unlock()
		return
	}
	out, err := dec.DecryptRTP(nil, pkt, nil)
	if err != nil {
		u.authErr.Add(1)
		return
	}
	u.mu.Lock()
	u.rtpIn = append(u.rtpIn, Packet{From: from, Data: out})
	u.mu.Unlock()
}

// SendRTP encrypts and sends one RTP packet to the relay.
func (u *Upstream) SendRTP(pkt []byte) ([]byte, error) {
	c := u.comps[0]
	enc := c.enc.Load()
	if enc == nil {
		return nil, errors.New("no keys")
	}
	out, err := enc.EncryptRTP(nil, pkt, nil)
	if err != nil {
		return nil, err
	}
	_, err = c.conn.WriteToUDPAddrPort(out, c.remote)
	return out, err
}

// SendRTCP encrypts and sends one RTCP packet (on the RTP socket if muxed).
func (u *Upstream) SendRTCP(pkt []byte) error {
	c := u.comps[0]
	if !u.mux {
		c = u.comps[1]
	}
	enc := c.enc.Load()
	if enc == nil {
		return errors.New("no keys")
	}
	out, err := enc.EncryptRTCP(nil, pkt, nil)
	if err != nil {
		return err
	}
	_, err = c.conn.WriteToUDPAddrPort(out, c.remote)
	return err
}

// SendRaw sends b unmodified from the RTP socket (for forged packets).
func (u *Upstream) SendRaw(b []byte) error {
	_, err := u.comps[0].conn.WriteToUDPAddrPort(b, u.comps[0].remote)
	return err
}

// Received returns copies of the decrypted RTP and RTCP packets.
func (u *Upstream) Received() (rtp, rtcp []Packet) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Packet(nil), u.rtpIn...), append([]Packet(nil), u.rtcpIn...)
}

// Captured returns every raw datagram received (Capture must be set).
func (u *Upstream) Captured() []Packet {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Packet(nil), u.capture...)
}

// AuthErrors counts media that failed to decrypt at the upstream.
func (u *Upstream) AuthErrors() uint64 { return u.authErr.Load() }

// Close stops the upstream.
func (u *Upstream) Close() {
	// Sockets first: that ends the read loops and with them the DTLS
	// reads pion is blocked in; pion's Close waits for those reads.
	for _, c := range u.comps {
		c.conn.Close()
	}
	u.wg.Wait()
	for _, c := range u.comps {
		if c.dconn != nil {
			c.dconn.Close()
		}
	}
}

// demuxConn is the net.PacketConn pion/dtls runs over: reads come from the
// component's DTLS channel (the read loop classified them, RFC 7983),
// writes go straight to the socket.
type demuxConn struct {
	c *component
}

func (d *demuxConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-d.c.dtlsIn:
		return copy(b, p.Data), net.UDPAddrFromAddrPort(p.From), nil
	case <-d.c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (d *demuxConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return d.c.conn.WriteTo(b, addr)
}

func (d *demuxConn) Close() error                     { return nil }
func (d *demuxConn) LocalAddr() net.Addr              { return d.c.conn.LocalAddr() }
func (d *demuxConn) SetDeadline(time.Time) error      { return nil }
func (d *demuxConn) SetReadDeadline(time.Time) error  { return nil }
func (d *demuxConn) SetWriteDeadline(time.Time) error { return nil }
func randUint32() uint32                              { var b [4]byte; rand.Read(b[:]); return binary.BigEndian.Uint32(b[:]) }
