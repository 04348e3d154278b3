package relay

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/udp/udptest"
)

// BenchPath is one phone <-> upstream media pair wired without real
// sockets, so that benchmarks outside this package (bench/) and allocation
// tests can run exactly the handle step the read loops run. It is not used
// by the daemon.
type BenchPath struct {
	phone, upstream *Stream
	// peer holds the upstream peer's keys (ours mirrored), to make the
	// SRTP that arrives from upstream and to check what leaves toward it.
	peer    *crypto.Session
	scratch []byte
	// the phone's and the upstream peer's addresses
	phoneAt, upAt netip.AddrPort
}

// NewBenchPath keys a path with random master keys for profile p.
func NewBenchPath(p crypto.Profile) (*BenchPath, error) {
	if p.KeyLen() == 0 {
		return nil, fmt.Errorf("bench path: unknown profile %v", p)
	}
	key := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	k := crypto.SessionKeys{Profile: p,
		LocalKey: key(p.KeyLen()), LocalSalt: key(p.SaltLen()),
		RemoteKey: key(p.KeyLen()), RemoteSalt: key(p.SaltLen()),
	}
	ours, err := crypto.NewSession(k, 128)
	if err != nil {
		return nil, err
	}
	mirror := crypto.SessionKeys{Profile: p, LocalKey: k.RemoteKey, LocalSalt: k.RemoteSalt, RemoteKey: k.LocalKey, RemoteSalt: k.LocalSalt}
	peer, err := crypto.NewSession(mirror, 128)
	if err != nil {
		return nil, err
	}
	n := udptest.New()
	clock := newCoarseClock(time.Now)
	conn := func(a string) (*udptest.Conn, error) {
		c, err := n.ListenUDP(netip.MustParseAddrPort(a))
		if err != nil {
			return nil, err
		}
		return c.(*udptest.Conn), nil
	}
	pc, err := conn("127.0.0.2:40000")
	if err != nil {
		return nil, err
	}
	uc, err := conn("127.0.0.3:40000")
	if err != nil {
		return nil, err
	}
	call := &Call{id: "bench", log: slog.New(slog.DiscardHandler), relay: &Relay{cfg: DefaultConfig()}}
	pm := &Media{index: 1, leg: &Leg{call: call, idx: 0}}
	um := &Media{index: 1, leg: &Leg{call: call, idx: 1}}
	b := &BenchPath{
		phone:    newStream(pm, 1, pc, netip.MustParseAddr("127.0.0.2"), false, clock),
		upstream: newStream(um, 1, uc, netip.MustParseAddr("127.0.0.3"), true, clock),
		peer:     peer,
		scratch:  make([]byte, scratchSize),
		phoneAt:  netip.MustParseAddrPort("127.0.0.10:20000"),
		upAt:     netip.MustParseAddrPort("127.0.0.20:50000"),
	}
	b.phone.setRemote(b.phoneAt)
	b.upstream.setRemote(b.upAt)
	b.upstream.session.Store(ours)
	b.phone.route.Store(&route{rtpOK: true, rtcpOK: true,
		rtp: egress{sink: b.upstream, encrypt: true}, rtcp: egress{sink: b.upstream, encrypt: true}})
	b.upstream.route.Store(&route{rtpOK: true, rtcpOK: true,
		rtp: egress{sink: b.phone}, rtcp: egress{sink: b.phone}})
	return b, nil
}

// ErrDropped is returned by the BenchPath steps for a dropped packet.
var ErrDropped = errors.New("packet dropped")

// PlainToSRTP runs handle for a plain RTP/RTCP packet from the phone and
// returns the SRTP that would go upstream.
func (b *BenchPath) PlainToSRTP(pkt []byte) ([]byte, error) {
	out, _, _, drop := b.phone.handle(pkt, b.phoneAt, b.scratch)
	if drop != dropNone {
		return nil, fmt.Errorf("%w: %s", ErrDropped, drop)
	}
	return out, nil
}

// SRTPToPlain runs handle for an SRTP packet from the upstream.
func (b *BenchPath) SRTPToPlain(pkt []byte) ([]byte, error) {
	out, _, _, drop := b.upstream.handle(pkt, b.upAt, b.scratch)
	if drop != dropNone {
		return nil, fmt.Errorf("%w: %s", ErrDropped, drop)
	}
	return out, nil
}

// PeerEncryptRTP protects pkt as the upstream peer would send it.
func (b *BenchPath) PeerEncryptRTP(dst, pkt []byte) ([]byte, error) {
	return b.peer.EncryptRTP(dst, pkt)
}

// PeerDecryptRTP checks SRTP srtpgw produced, as the upstream peer would.
func (b *BenchPath) PeerDecryptRTP(dst, pkt []byte) ([]byte, error) {
	return b.peer.DecryptRTP(dst, pkt)
}

// EnableICE makes the upstream side an ICE-lite leg whose peer has been
// nominated and has fresh consent, so benchmarks measure what ICE adds to
// the packet path (the consent check on egress).
func (b *BenchPath) EnableICE() {
	ice := newICEStream(newICECreds())
	ice.nominated.Store(&b.upAt)
	ice.checked[b.upAt] = true
	ice.consent.Store(1 << 62) // fresh for the whole benchmark
	b.upstream.ice.Store(ice)
}

// ICEStateBytes measures the heap one ICE-lite call adds: the state of its
// two streams after a check has been answered (so the STUN buffers have
// grown to their working size).
func ICEStateBytes() float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 1000
	keep := make([]*iceStream, 0, 2*n)
	creds := newICECreds()
	for range 2 * n {
		ice := newICEStream(creds)
		ice.msg.Raw = make([]byte, 0, 256)
		ice.resp.Raw = make([]byte, 0, 256)
		ice.checked[netip.MustParseAddrPort("127.0.0.1:1")] = true
		keep = append(keep, ice)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(after.HeapAlloc-before.HeapAlloc) / n
}
