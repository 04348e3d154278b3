package crypto

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
)

// DefaultHandshakeTimeout bounds a whole handshake (DESIGN §4, security requirement A4).
// pion retransmits flights inside it (RFC 6347 §4.2.4, initial 1 s, doubling).
const DefaultHandshakeTimeout = 10 * time.Second

// exporterLabel is the RFC 5764 §4.2 keying-material exporter label for DTLS-SRTP.
const exporterLabel = "EXTRACTOR-dtls_srtp"

// EndpointConfig configures one DTLS-SRTP association.
type EndpointConfig struct {
	Role             Role
	Certificate      *Certificate   // ours, taken from CertStore.Current at offer time
	PeerFingerprints []Fingerprint  // from the SDP; checked INSIDE the handshake
	Peer             netip.AddrPort // the only source whose DTLS records are accepted
	// Send writes b to the peer on the relay's stream socket. It is called from pion's
	// goroutines, must not block, and must not keep b after returning.
	Send    func(b []byte, to netip.AddrPort) error
	Timeout time.Duration     // default DefaultHandshakeTimeout; pion retransmits flights within it
	Limiter *HandshakeLimiter // optional (security requirement A4)

	// Profiles optionally narrows the SRTP profiles offered/accepted to a subset of
	// AllowedProfiles, in preference order. nil means AllowedProfiles().
	Profiles []Profile
	// Logger receives pion's internal log lines at Debug. nil discards them.
	Logger *slog.Logger
}

// HandshakeResult is what a successful handshake negotiated.
type HandshakeResult struct {
	Keys            SessionKeys // exported with "EXTRACTOR-dtls_srtp" (RFC 5764 §4.2), split per role
	Profile         Profile
	CipherSuite     string      // e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	PeerFingerprint Fingerprint // sha-256 of the peer's certificate as seen
	Duration        time.Duration
}

// Endpoint runs the DTLS-SRTP handshake for one association over datagrams the relay feeds
// it. Lifecycle: NewEndpoint, then Feed from the read loop at any time (early ClientHellos
// are queued), Handshake once in its own goroutine, Close when the call ends. A failed
// Handshake closes the Endpoint; build a new one to retry.
type Endpoint struct {
	cfg  EndpointConfig
	peer atomic.Pointer[netip.AddrPort]
	pc   *packetConn

	started    atomic.Bool
	fpMismatch atomic.Bool

	wrongSource atomic.Uint64
	queueFull   atomic.Uint64

	mu      sync.Mutex // guards conn and closing, and orders wg.Add against Close
	conn    *dtls.Conn
	closing bool

	closeOnce sync.Once
	done      chan struct{}
	doneOnce  sync.Once
	wg        sync.WaitGroup // the post-handshake service goroutine
}

// NewEndpoint validates cfg. No goroutine starts until Handshake.
func NewEndpoint(cfg EndpointConfig) (*Endpoint, error) {
	if cfg.Role != RoleClient && cfg.Role != RoleServer {
		return nil, fmt.Errorf("crypto: invalid DTLS role %v", cfg.Role)
	}
	if cfg.Certificate == nil {
		return nil, errors.New("crypto: endpoint needs a certificate")
	}
	if !time.Now().Before(cfg.Certificate.NotAfter()) {
		return nil, errors.New("crypto: endpoint certificate has expired")
	}
	if len(cfg.PeerFingerprints) == 0 {
		return nil, fmt.Errorf("%w: no peer fingerprint, refusing an unauthenticated handshake", ErrMalformedFingerprint)
	}
	for _, f := range cfg.PeerFingerprints {
		h, err := lookupHash(f.Hash)
		if err != nil {
			return nil, err
		}
		if len(f.Value) != h.size {
			return nil, fmt.Errorf("%w: %s value of %d bytes", ErrMalformedFingerprint, f.Hash, len(f.Value))
		}
	}
	if !cfg.Peer.IsValid() || cfg.Peer.Port() == 0 {
		return nil, errors.New("crypto: endpoint needs a peer address")
	}
	if cfg.Send == nil {
		return nil, errors.New("crypto: endpoint needs a Send function")
	}
	switch {
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultHandshakeTimeout
	case cfg.Timeout < 0:
		return nil, errors.New("crypto: negative handshake timeout")
	}
	if cfg.Profiles == nil {
		cfg.Profiles = AllowedProfiles()
	}
	if len(cfg.Profiles) == 0 {
		return nil, fmt.Errorf("%w: empty profile list", ErrProfileNotAllowed)
	}
	for _, p := range cfg.Profiles {
		if !p.Allowed() {
			return nil, fmt.Errorf("%w: %s", ErrProfileNotAllowed, p)
		}
	}
	cfg.Profiles = slices.Clone(cfg.Profiles)
	cfg.PeerFingerprints = slices.Clone(cfg.PeerFingerprints)

	e := &Endpoint{cfg: cfg, done: make(chan struct{})}
	e.SetPeer(cfg.Peer)
	e.pc = newPacketConn(
		func(b []byte) error { return cfg.Send(b, e.Peer()) },
		func() net.Addr { return udpAddr(e.Peer()) },
		e.markDone,
	)
	return e, nil
}

func normAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// SetPeer moves the accepted source and send destination, e.g. when the relay re-latches
// after an authenticated SRTP packet (DESIGN §3). Safe to call from any goroutine.
func (e *Endpoint) SetPeer(p netip.AddrPort) {
	p = normAddrPort(p)
	e.peer.Store(&p)
}

// Peer returns the current peer address.
func (e *Endpoint) Peer() netip.AddrPort { return *e.peer.Load() }

// Feed hands the Endpoint one datagram the relay classified as DTLS (first byte 20..63,
// RFC 7983). It copies b and queues it without blocking. It returns false, dropping the
// datagram, when from is not the current peer (a ClientHello from a third address never
// reaches pion, security requirement A5), when b is not a DTLS record, when the queue is
// full, or after Close.
func (e *Endpoint) Feed(b []byte, from netip.AddrPort) bool {
	if len(b) == 0 || b[0] < 20 || b[0] > 63 {
		return false
	}
	if normAddrPort(from) != e.Peer() {
		e.wrongSource.Add(1)
		return false
	}
	if !e.pc.feed(b) {
		if !e.pc.isClosed() {
			e.queueFull.Add(1)
		}
		return false
	}
	return true
}

// Dropped reports datagrams Feed refused: from a source other than the peer, and because
// the queue was full. For metrics; both only grow.
func (e *Endpoint) Dropped() (wrongSource, queueFull uint64) {
	return e.wrongSource.Load(), e.queueFull.Load()
}

// Done is closed when the association ends: peer close_notify or fatal alert, Close, or a
// failed Handshake.
func (e *Endpoint) Done() <-chan struct{} { return e.done }

func (e *Endpoint) markDone() { e.doneOnce.Do(func() { close(e.done) }) }

// Close ends the association (sending close_notify if the handshake completed) and waits
// for the Endpoint's own goroutine. It is idempotent and safe to call concurrently with
// Handshake, which then returns ErrClosed. pion's two internal handshake goroutines are
// cancelled by it and exit on their own without blocking (endpoint tests check with goleak).
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closing = true
		conn := e.conn
		e.mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
		_ = e.pc.Close()
		e.markDone()
		e.wg.Wait()
		// Let go of pion's connection (its handshake cache, buffers and
		// cipher state): a retired association lives on in the relay's
		// stream only as a closed marker for the rest of the call.
		e.mu.Lock()
		e.conn = nil
		e.mu.Unlock()
	})
	return nil
}

// Retire ends the association locally without telling the peer: no
// close_notify is sent (our side of the pipe is closed first, so pion's
// alert cannot be written), pion's goroutines and buffers are released,
// and Feed refuses from then on. The relay calls it once the peer has sent
// authenticated SRTP: the peer then holds the keys, so its handshake is
// complete and it will not retransmit a flight we would need to answer
// (RFC 6347 §4.2.4). A long call then costs no DTLS state at all.
func (e *Endpoint) Retire() {
	_ = e.pc.Close()
	_ = e.Close()
}

// Handshake runs the DTLS handshake to completion and exports the SRTP keys. It blocks, so
// the relay calls it in its own goroutine, and may be called once. The peer certificate is
// checked against PeerFingerprints inside the handshake (pion's VerifyPeerCertificate), so a
// mismatch aborts before any key exists and returns ErrFingerprintMismatch. Other failures
// wrap ErrHandshakeTimeout, ErrHandshakeLimit, ErrPolicy or pion's error. Any failure closes
// the Endpoint.
//
// After success the Endpoint keeps servicing DTLS in the background: pion answers a
// retransmitted final flight from the peer (RFC 6347 §4.2.4) and a close_notify closes Done.
func (e *Endpoint) Handshake(ctx context.Context) (*HandshakeResult, error) {
	if !e.started.CompareAndSwap(false, true) {
		return nil, errors.New("crypto: Handshake called twice")
	}
	start := time.Now()
	res, err := e.handshake(ctx, start)
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	return res, nil
}

func (e *Endpoint) handshake(ctx context.Context, start time.Time) (*HandshakeResult, error) {
	if e.pc.isClosed() {
		return nil, ErrClosed
	}
	if l := e.cfg.Limiter; l != nil {
		release, err := l.Acquire(e.Peer())
		if err != nil {
			return nil, err
		}
		defer release()
	}
	hctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()

	conn, err := e.newConn()
	if err != nil {
		return nil, err
	}
	if err := conn.HandshakeContext(hctx); err != nil {
		return nil, e.handshakeError(ctx, hctx, err)
	}
	res, err := e.result(conn, start)
	if err != nil {
		return nil, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		res.Keys.Wipe()
		return nil, ErrClosed
	}
	e.wg.Add(1)
	go e.serve(conn)
	return res, nil
}

func (e *Endpoint) newConn() (*dtls.Conn, error) {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			e.fpMismatch.Store(true)
			return fmt.Errorf("%w: peer sent no certificate", ErrFingerprintMismatch)
		}
		// RFC 8122 §5: the fingerprint covers the end-entity certificate, the first one.
		if err := VerifyFingerprint(raw[0], e.cfg.PeerFingerprints); err != nil {
			e.fpMismatch.Store(true)
			return err
		}
		return nil
	}
	copts, sopts, err := dtlsOptions(e.cfg.Role, e.cfg.Certificate, e.cfg.Profiles, verify, e.cfg.Logger)
	if err != nil {
		return nil, err
	}
	var conn *dtls.Conn
	if e.cfg.Role == RoleClient {
		conn, err = dtls.ClientWithOptions(e.pc, udpAddr(e.Peer()), copts...)
	} else {
		conn, err = dtls.ServerWithOptions(e.pc, udpAddr(e.Peer()), sopts...)
	}
	if err != nil {
		return nil, fmt.Errorf("crypto: DTLS setup: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		_ = conn.Close()
		return nil, ErrClosed
	}
	e.conn = conn
	return conn, nil
}

func (e *Endpoint) handshakeError(parent, hctx context.Context, err error) error {
	switch {
	case e.fpMismatch.Load():
		return ErrFingerprintMismatch
	case errors.Is(hctx.Err(), context.DeadlineExceeded):
		// Our Timeout or a shorter deadline on the caller's ctx: both are timeouts.
		return fmt.Errorf("%w (limit %v): %w", ErrHandshakeTimeout, e.cfg.Timeout, context.DeadlineExceeded)
	case parent.Err() != nil:
		return fmt.Errorf("crypto: DTLS handshake: %w", parent.Err())
	case e.isClosing():
		return ErrClosed
	}
	return fmt.Errorf("crypto: DTLS handshake failed: %w", err)
}

func (e *Endpoint) isClosing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closing
}

// result checks what pion negotiated against the policy (a backstop: pion was configured
// with the same lists) and exports the keys.
func (e *Endpoint) result(conn *dtls.Conn, start time.Time) (*HandshakeResult, error) {
	sp, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		// A pion server completes a handshake whose ClientHello had no use_srtp at all.
		return nil, fmt.Errorf("%w: peer did not negotiate use_srtp (RFC 5764 §4.1)", ErrPolicy)
	}
	profile := Profile(sp)
	if !slices.Contains(e.cfg.Profiles, profile) {
		return nil, fmt.Errorf("%w: negotiated SRTP profile %s", ErrPolicy, profile)
	}
	if mki, _ := conn.RemoteSRTPMasterKeyIdentifier(); len(mki) > 0 {
		return nil, fmt.Errorf("%w: peer uses an SRTP MKI, which srtpgw does not support", ErrPolicy)
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil, fmt.Errorf("%w: no connection state after handshake", ErrPolicy)
	}
	if !slices.Contains(AllowedCipherSuites(), state.CipherSuiteID) {
		return nil, fmt.Errorf("%w: negotiated cipher suite %s", ErrPolicy, dtls.CipherSuiteName(state.CipherSuiteID))
	}
	if len(state.PeerCertificates) == 0 || VerifyFingerprint(state.PeerCertificates[0], e.cfg.PeerFingerprints) != nil {
		return nil, ErrFingerprintMismatch
	}
	material, err := state.ExportKeyingMaterial(exporterLabel, nil, 2*(profile.KeyLen()+profile.SaltLen()))
	if err != nil {
		return nil, fmt.Errorf("crypto: exporting DTLS-SRTP keys: %w", err)
	}
	keys, err := splitExported(profile, material, e.cfg.Role == RoleClient)
	clear(material)
	if err != nil {
		return nil, err
	}
	peerFP, err := FingerprintOf(state.PeerCertificates[0], "sha-256")
	if err != nil {
		keys.Wipe()
		return nil, err
	}
	return &HandshakeResult{
		Keys:            keys,
		Profile:         profile,
		CipherSuite:     dtls.CipherSuiteName(state.CipherSuiteID),
		PeerFingerprint: peerFP,
		Duration:        time.Since(start),
	}, nil
}

// serve keeps pion's record loop flowing after the handshake. pion hands application data
// to Read through a one-slot channel and stalls its reader (and so its handling of
// retransmitted handshake flights and close_notify) while that slot is full; DTLS-SRTP
// carries no application data, so it is read and discarded here. Read returns io.EOF once
// the peer's close_notify or our Close ends the connection.
func (e *Endpoint) serve(conn *dtls.Conn) {
	defer e.wg.Done()
	defer e.markDone()
	buf := make([]byte, 1500)
	for {
		if _, err := conn.Read(buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
				errors.Is(err, dtls.ErrConnClosed) || e.pc.isClosed() {
				return
			}
			// A non-fatal alert or a bad record: pion keeps the association, so do we.
			select {
			case <-e.done:
				return
			default:
			}
		}
	}
}
