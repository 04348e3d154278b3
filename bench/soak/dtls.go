package main

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
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"

	"github.com/srtpgw/srtpgw/bench/load"
)

// upstreamTLS is what every simulated upstream shares, as one cloud PBX
// would: a self-signed certificate and its SDP fingerprint.
type upstreamTLS struct {
	cert tls.Certificate
	fp   string // "sha-256 AB:CD:..." (RFC 8122 §5)
}

func newUpstreamTLS() (*upstreamTLS, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, err
	}
	return &upstreamTLS{cert: cert, fp: "sha-256 " + colonHex(sha256Sum(cert.Certificate[0]))}, nil
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// handshake runs DTLS as the client (the upstream answered a=setup:active,
// RFC 5763 §5) over e's socket toward srtpgw, checks srtpgw's certificate
// against the fingerprint of its SDP inside the handshake, and derives the
// SRTP contexts (RFC 5764 §4.2): enc for what the upstream sends, dec with
// a replay window for what it receives.
func handshake(ctx context.Context, e *endpoint, relay netip.AddrPort, relayFP string, u *upstreamTLS) (enc, dec *srtp.Context, dc *dtls.Conn, err error) {
	alg, want, _ := strings.Cut(strings.TrimSpace(relayFP), " ")
	if !strings.EqualFold(alg, "sha-256") {
		return nil, nil, nil, fmt.Errorf("srtpgw offered a %q fingerprint, want sha-256", alg)
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("srtpgw sent no certificate")
		}
		if subtle.ConstantTimeCompare([]byte(colonHex(sha256Sum(raw[0]))), []byte(strings.ToUpper(want))) != 1 {
			return errors.New("srtpgw's certificate does not match its SDP fingerprint")
		}
		return nil
	}
	pc := &dtlsPacketConn{e: e, closed: make(chan struct{})}
	dc, err = dtls.ClientWithOptions(pc, net.UDPAddrFromAddrPort(relay),
		dtls.WithCertificates(u.cert),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true), // self-signed: the fingerprint is the trust
		dtls.WithVerifyPeerCertificate(verify))
	if err != nil {
		return nil, nil, nil, err
	}
	if err = dc.HandshakeContext(ctx); err != nil {
		dc.Close()
		return nil, nil, nil, fmt.Errorf("DTLS handshake: %w", err)
	}
	if enc, dec, err = load.SRTPContexts(dc, true); err != nil {
		dc.Close()
		return nil, nil, nil, err
	}
	return enc, dec, dc, nil
}

// dtlsPacketConn is the net.PacketConn pion/dtls runs over: reads come
// from the DTLS records the endpoint's read loop picked out by first byte
// (RFC 7983), writes go to the socket. Close only stops reads; the socket
// belongs to the endpoint. The read deadline is real: pion cancels a
// handshake by setting it (netctx), and a read that ignored it would keep
// HandshakeContext from returning after its context ended.
type dtlsPacketConn struct {
	e      *endpoint
	closed chan struct{}
	once   sync.Once

	mu    sync.Mutex
	dl    chan struct{} // closed once the read deadline has passed
	timer *time.Timer
}

func (p *dtlsPacketConn) deadline() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dl == nil {
		p.dl = make(chan struct{})
	}
	return p.dl
}

func (p *dtlsPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case rec := <-p.e.dtlsIn:
		return copy(b, rec.data), net.UDPAddrFromAddrPort(rec.from), nil
	case <-p.closed:
		return 0, nil, net.ErrClosed
	case <-p.e.done:
		return 0, nil, net.ErrClosed
	case <-p.deadline():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (p *dtlsPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return p.e.conn.WriteTo(b, addr)
}

func (p *dtlsPacketConn) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// SetReadDeadline makes reads fail with os.ErrDeadlineExceeded from t on;
// the zero time removes the deadline.
func (p *dtlsPacketConn) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if p.dl == nil || isClosed(p.dl) {
		p.dl = make(chan struct{})
	}
	if t.IsZero() {
		return nil
	}
	ch := p.dl
	d := time.Until(t)
	if d <= 0 {
		close(ch)
		return nil
	}
	p.timer = time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.dl == ch && !isClosed(ch) {
			close(ch)
		}
	})
	return nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (p *dtlsPacketConn) LocalAddr() net.Addr              { return p.e.conn.LocalAddr() }
func (p *dtlsPacketConn) SetDeadline(t time.Time) error    { return p.SetReadDeadline(t) }
func (p *dtlsPacketConn) SetWriteDeadline(time.Time) error { return nil }
