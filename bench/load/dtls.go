package load

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
	"github.com/srtpgw/srtpgw/bench/statickeys"
)

// upstreamTLS is what every simulated upstream shares: one self-signed
// ECDSA P-256 certificate (a real PBX also keeps one), its SDP
// fingerprint, the SRTP profiles it offers and its DTLS role.
type upstreamTLS struct {
	cert        tls.Certificate
	fingerprint string // "sha-256 AB:CD:..." (RFC 8122 §5)
	profiles    []dtls.SRTPProtectionProfile
	client      bool // a=setup:active: the upstream sends the ClientHello
}

// sdpFingerprint formats the sha-256 fingerprint of a DER certificate.
func sdpFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha-256 " + colonHex(sum[:])
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// handshake runs DTLS with the relay over e's socket and derives the two
// SRTP contexts (RFC 5764 §4.2). The relay's certificate must match the
// fingerprint its SDP advertised (RFC 5763 §5), checked inside the
// handshake; only sha-256 is checked, which is what relays offer.
func handshake(ctx context.Context, e *endpoint, relay netip.AddrPort, peerFP string, u *upstreamTLS) (enc, dec *srtp.Context, dc *dtls.Conn, err error) {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("relay sent no certificate")
		}
		alg, want, _ := strings.Cut(strings.TrimSpace(peerFP), " ")
		if !strings.EqualFold(alg, "sha-256") {
			return nil
		}
		got := sdpFingerprint(raw[0])[len("sha-256 "):]
		if subtle.ConstantTimeCompare([]byte(strings.ToUpper(want)), []byte(got)) != 1 {
			return errors.New("relay certificate does not match its SDP fingerprint")
		}
		return nil
	}
	shared := []dtls.Option{
		dtls.WithCertificates(u.cert),
		dtls.WithSRTPProtectionProfiles(u.profiles...),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true), // self-signed: trust is the fingerprint
		dtls.WithVerifyPeerCertificate(verify),
	}
	pc := newDTLSConn(e, relay)
	raddr := net.UDPAddrFromAddrPort(relay)
	if u.client {
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
		return nil, nil, nil, err
	}
	if err = dc.HandshakeContext(ctx); err != nil {
		dc.Close()
		return nil, nil, nil, fmt.Errorf("dtls handshake: %w", err)
	}
	if enc, dec, err = SRTPContexts(dc, u.client); err != nil {
		dc.Close()
		return nil, nil, nil, err
	}
	return enc, dec, dc, nil
}

// dtlsConn is the net.PacketConn pion/dtls runs over: reads come from the
// endpoint's DTLS queue (its read loop classified them by first byte,
// RFC 7983), writes go to the socket. Read deadlines are honoured because
// pion cancels a handshake by setting one.
type dtlsConn struct {
	e      *endpoint
	raddr  net.Addr
	mu     sync.Mutex
	dl     time.Time
	kick   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newDTLSConn(e *endpoint, relay netip.AddrPort) *dtlsConn {
	return &dtlsConn{e: e, raddr: net.UDPAddrFromAddrPort(relay), kick: make(chan struct{}), closed: make(chan struct{})}
}

func (d *dtlsConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		d.mu.Lock()
		dl, kick := d.dl, d.kick
		d.mu.Unlock()
		var timeout <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return 0, nil, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(left)
			timeout = t.C
		}
		n, err, again := 0, error(nil), false
		select {
		case p := <-d.e.dtlsIn:
			n = copy(b, p)
		case <-d.closed:
			err = net.ErrClosed
		case <-kick: // the deadline changed: wait again under the new one
			again = true
		case <-timeout:
			err = os.ErrDeadlineExceeded
		}
		if t != nil {
			t.Stop()
		}
		if again {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		return n, d.raddr, nil
	}
}

func (d *dtlsConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-d.closed:
		return 0, net.ErrClosed
	default:
	}
	return d.e.conn.WriteTo(b, addr)
}

func (d *dtlsConn) Close() error {
	d.once.Do(func() { close(d.closed) })
	return nil
}

func (d *dtlsConn) LocalAddr() net.Addr { return d.e.conn.LocalAddr() }

func (d *dtlsConn) SetDeadline(t time.Time) error { return d.SetReadDeadline(t) }

func (d *dtlsConn) SetReadDeadline(t time.Time) error {
	d.mu.Lock()
	d.dl = t
	close(d.kick)
	d.kick = make(chan struct{})
	d.mu.Unlock()
	return nil
}

func (d *dtlsConn) SetWriteDeadline(time.Time) error { return nil }

// SRTPContexts derives the SRTP contexts of a completed DTLS-SRTP
// handshake (RFC 5764 §4.2): enc protects what this side sends, dec
// checks what it receives with a 128-packet replay window (RFC 3711
// §3.3.2). client says which side of the handshake this side was.
func SRTPContexts(dc *dtls.Conn, client bool) (enc, dec *srtp.Context, err error) {
	state, ok := dc.ConnectionState()
	prof, ok2 := dc.SelectedSRTPProtectionProfile()
	if !ok || !ok2 {
		return nil, nil, errors.New("dtls: no SRTP profile negotiated (RFC 5764 §4.1.2)")
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(prof)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, client); err != nil {
		return nil, nil, err
	}
	if enc, err = srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile); err != nil {
		return nil, nil, err
	}
	dec, err = srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile,
		srtp.SRTPReplayProtection(128))
	if err != nil {
		return nil, nil, err
	}
	return enc, dec, nil
}

// staticContexts are the upstream's SRTP contexts with -static-srtp: keys
// from bench/statickeys instead of a DTLS handshake, the mirror image of
// the keyed forwarder's (it sends with fromUpstream, receives toUpstream).
func staticContexts(callID string, gcm bool) (enc, dec *srtp.Context, err error) {
	p := statickeys.Profile(gcm)
	toUp, fromUp, err := statickeys.Derive(callID, p)
	if err != nil {
		return nil, nil, err
	}
	prof := srtp.ProtectionProfileAes128CmHmacSha1_80
	if gcm {
		prof = srtp.ProtectionProfileAeadAes128Gcm
	}
	if enc, err = srtp.CreateContext(fromUp.Key, fromUp.Salt, prof); err != nil {
		return nil, nil, err
	}
	if dec, err = srtp.CreateContext(toUp.Key, toUp.Salt, prof, srtp.SRTPReplayProtection(128)); err != nil {
		return nil, nil, err
	}
	return enc, dec, nil
}
