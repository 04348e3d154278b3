package crypto

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

var (
	addrA     = netip.MustParseAddrPort("127.0.0.1:40000")
	addrB     = netip.MustParseAddrPort("127.0.0.2:40002")
	addrThird = netip.MustParseAddrPort("127.0.0.3:40004")
)

func mustCert(t testing.TB) *Certificate {
	t.Helper()
	c, err := GenerateCertificate(24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// link is an in-memory datagram path between two Feed functions. drop, if set, may discard
// (return true) a datagram to simulate loss; it is called without the lock held, so it may
// take l.mu to guard its own state.
type link struct {
	mu   sync.Mutex
	feed map[netip.AddrPort]func([]byte, netip.AddrPort) bool
	drop func(from netip.AddrPort, b []byte) bool
}

func newLink() *link {
	return &link{feed: map[netip.AddrPort]func([]byte, netip.AddrPort) bool{}}
}

func (l *link) attach(addr netip.AddrPort, feed func([]byte, netip.AddrPort) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.feed[addr] = feed
}

// sender returns a Send function for the endpoint at from.
func (l *link) sender(from netip.AddrPort) func([]byte, netip.AddrPort) error {
	return func(b []byte, to netip.AddrPort) error {
		l.mu.Lock()
		f := l.feed[to]
		drop := l.drop
		l.mu.Unlock()
		if drop != nil && drop(from, b) {
			return nil
		}
		if f != nil {
			f(b, from)
		}
		return nil
	}
}

type side struct {
	cert     *Certificate
	role     Role
	profiles []Profile
	peerFP   []Fingerprint // nil: the other side's real sha-256 fingerprint
	timeout  time.Duration
	limiter  *HandshakeLimiter
}

// endpointPair builds two Endpoints A (at addrA) and B (at addrB) joined by l.
func endpointPair(t *testing.T, l *link, a, b side) (*Endpoint, *Endpoint) {
	t.Helper()
	if a.cert == nil {
		a.cert = mustCert(t)
	}
	if b.cert == nil {
		b.cert = mustCert(t)
	}
	mk := func(s side, self, peer netip.AddrPort, peerCert *Certificate) *Endpoint {
		fps := s.peerFP
		if fps == nil {
			fps = []Fingerprint{peerCert.Fingerprint()}
		}
		e, err := NewEndpoint(EndpointConfig{
			Role: s.role, Certificate: s.cert, PeerFingerprints: fps, Peer: peer,
			Send: l.sender(self), Timeout: s.timeout, Limiter: s.limiter, Profiles: s.profiles,
		})
		if err != nil {
			t.Fatal(err)
		}
		l.attach(self, e.Feed)
		t.Cleanup(func() { _ = e.Close() })
		return e
	}
	return mk(a, addrA, addrB, b.cert), mk(b, addrB, addrA, a.cert)
}

type hsOutcome struct {
	res *HandshakeResult
	err error
}

// runHandshakes runs Handshake on every endpoint concurrently and returns the outcomes.
func runHandshakes(ctx context.Context, eps ...*Endpoint) []hsOutcome {
	out := make([]hsOutcome, len(eps))
	var wg sync.WaitGroup
	for i, e := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].res, out[i].err = e.Handshake(ctx)
		}()
	}
	wg.Wait()
	return out
}

// rawPeer is a plain pion/dtls peer wired to one of our Endpoints through l, used to offer
// things our own Endpoint never would (other profiles, suites, no EMS).
type rawPeer struct {
	pc   *packetConn
	conn *dtls.Conn
}

func newRawPeer(t *testing.T, l *link, self, peer netip.AddrPort, client bool,
	copts []dtls.ClientOption, sopts []dtls.ServerOption,
) *rawPeer {
	t.Helper()
	send := l.sender(self)
	pc := newPacketConn(func(b []byte) error { return send(b, peer) },
		func() net.Addr { return udpAddr(peer) }, nil)
	l.attach(self, func(b []byte, _ netip.AddrPort) bool { return pc.feed(b) })
	var conn *dtls.Conn
	var err error
	if client {
		conn, err = dtls.ClientWithOptions(pc, udpAddr(peer), copts...)
	} else {
		conn, err = dtls.ServerWithOptions(pc, udpAddr(peer), sopts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawPeer{pc: pc, conn: conn}
}

// rawOpts are the options every raw pion peer needs to talk to us at all; tests append
// the thing under test (later options override earlier ones).
func rawOpts(cert *Certificate) []dtls.Option {
	return []dtls.Option{
		dtls.WithCertificates(cert.TLSCertificate()),
		dtls.WithInsecureSkipVerify(true),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80),
	}
}

func asClient(opts []dtls.Option, more ...dtls.Option) []dtls.ClientOption {
	var out []dtls.ClientOption
	for _, o := range append(opts, more...) {
		out = append(out, o)
	}
	return out
}

func asServer(opts []dtls.Option, more ...dtls.ServerOption) []dtls.ServerOption {
	var out []dtls.ServerOption
	for _, o := range opts {
		out = append(out, o)
	}
	return append(out, more...)
}

// checkCrossKeys asserts our Local is their Remote and vice versa (RFC 5764 §4.2), and that
// Sessions built from both ends interoperate.
func checkCrossKeys(t *testing.T, a, b *HandshakeResult) {
	t.Helper()
	eq := func(x, y []byte) bool { return len(x) > 0 && string(x) == string(y) }
	if !eq(a.Keys.LocalKey, b.Keys.RemoteKey) || !eq(a.Keys.LocalSalt, b.Keys.RemoteSalt) ||
		!eq(a.Keys.RemoteKey, b.Keys.LocalKey) || !eq(a.Keys.RemoteSalt, b.Keys.LocalSalt) {
		t.Fatal("exported keys do not match crosswise")
	}
	if eq(a.Keys.LocalKey, a.Keys.RemoteKey) {
		t.Fatal("client and server write keys are equal")
	}
	sa, err := NewSession(a.Keys, 0)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := NewSession(b.Keys, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkt := rtpPacket(1, 9, g711Payload)
	ct, err := sa.EncryptRTP(nil, pkt)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := sb.DecryptRTP(nil, ct); err != nil || string(pt) != string(pkt) {
		t.Fatalf("sessions from handshake keys do not interoperate: %v", err)
	}
}

func waitDone(t *testing.T, e *Endpoint, within time.Duration) {
	t.Helper()
	select {
	case <-e.Done():
	case <-time.After(within):
		t.Fatalf("Done not closed within %v", within)
	}
}

// mapped returns ap with its IPv4 address in IPv4-mapped IPv6 form, as a dual-stack socket
// reports it.
func mapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(ap.Addr().As16()), ap.Port())
}

func withPort(ap netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), port)
}
