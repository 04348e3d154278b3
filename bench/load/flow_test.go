package load

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// lossyPath is a fake network between a flow and a receiver: it drops
// every dropEvery-th packet, fails every failEvery-th write, and
// optionally delivers a packet twice or holds one back (reordering).
type lossyPath struct {
	st        *Stats
	rx        *rxState
	dir       int
	n         int
	dropEvery int
	failEvery int
	dupAt     int
	held      []byte
	holdAt    int
	dec       *srtp.Context
	hdr       rtp.Header
}

var errFakeSend = errors.New("fake ENOBUFS")

func (p *lossyPath) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	p.n++
	if p.failEvery > 0 && p.n%p.failEvery == 0 {
		return 0, errFakeSend
	}
	if p.dropEvery > 0 && p.n%p.dropEvery == 0 {
		return len(b), nil
	}
	pkt := b
	if p.dec != nil {
		out, err := p.dec.DecryptRTP(nil, b, &p.hdr)
		if err != nil {
			panic(err)
		}
		pkt = out
	}
	if p.holdAt > 0 && p.n == p.holdAt {
		p.held = append([]byte(nil), pkt...)
		return len(b), nil
	}
	p.st.record(p.dir, p.rx, pkt, mono())
	if p.held != nil {
		p.st.record(p.dir, p.rx, p.held, mono())
		p.held = nil
	}
	if p.n == p.dupAt {
		p.st.record(p.dir, p.rx, pkt, mono())
	}
	return len(b), nil
}

func TestLossAccounting(t *testing.T) {
	cases := []struct {
		name                       string
		path                       lossyPath
		sends                      int
		wantSent, wantRecv, wantEr uint64
		wantReordered              uint64
	}{
		{"clean", lossyPath{}, 500, 500, 500, 0, 0},
		{"1 in 10 dropped", lossyPath{dropEvery: 10}, 500, 500, 450, 0, 0},
		{"send errors are not sent", lossyPath{failEvery: 50}, 500, 490, 490, 10, 0},
		{"duplicate counted as reordered, loss floors at 0", lossyPath{dupAt: 7}, 100, 100, 101, 0, 1},
		{"held packet arrives late", lossyPath{holdAt: 5}, 100, 100, 100, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &Stats{}
			st.BeginEpoch(3)
			rx := &rxState{flow: flowID(7, DirUp)}
			p := c.path
			p.st, p.rx, p.dir = st, rx, DirUp
			f := newFlow(st, DirUp, flowID(7, DirUp), &p, netip.AddrPort{}, nil)
			for range c.sends {
				f.Send()
			}
			w := st.Window(3, DirUp)
			if w.Sent != c.wantSent || w.Received != c.wantRecv || w.SendErrors != c.wantEr {
				t.Fatalf("sent %d recv %d errors %d, want %d %d %d", w.Sent, w.Received, w.SendErrors, c.wantSent, c.wantRecv, c.wantEr)
			}
			wantLost := uint64(0)
			if c.wantRecv < c.wantSent {
				wantLost = c.wantSent - c.wantRecv
			}
			if w.Lost() != wantLost {
				t.Fatalf("lost %d, want %d", w.Lost(), wantLost)
			}
			if got := st.Reordered.Load(); got != c.wantReordered {
				t.Fatalf("reordered %d, want %d", got, c.wantReordered)
			}
			if w.Lat.N != w.Received {
				t.Fatalf("latency samples %d != received %d", w.Lat.N, w.Received)
			}
			if d := st.Window(3, DirDown); d.Sent != 0 || d.Received != 0 {
				t.Fatal("the other direction was credited")
			}
		})
	}
}

// TestEpochs checks that a packet is credited to the window it was sent
// in, even when it lands after the next window began.
func TestEpochs(t *testing.T) {
	st := &Stats{}
	st.BeginEpoch(1)
	rx := &rxState{flow: 0}
	p := &lossyPath{st: st, rx: rx, dir: DirDown, holdAt: 10}
	f := newFlow(st, DirDown, 0, p, netip.AddrPort{}, nil)
	for range 10 { // the 10th is held in flight
		f.Send()
	}
	st.BeginEpoch(2)
	for range 5 { // the first of these releases the held packet
		f.Send()
	}
	w1, w2 := st.Window(1, DirDown), st.Window(2, DirDown)
	if w1.Sent != 10 || w1.Received != 10 || w2.Sent != 5 || w2.Received != 5 {
		t.Fatalf("epoch 1 %d/%d, epoch 2 %d/%d; want 10/10 and 5/5", w1.Received, w1.Sent, w2.Received, w2.Sent)
	}
	st.BeginEpoch(1 + epochSlots) // reuses slot 1: cleared
	if w := st.Window(1+epochSlots, DirDown); w.Sent != 0 || w.Lat.N != 0 {
		t.Fatal("reused epoch slot not cleared")
	}
	if s, r := st.Totals(); s[DirDown] != 15 || r[DirDown] != 15 {
		t.Fatalf("totals %v %v", s, r)
	}
}

func TestRecordRejects(t *testing.T) {
	st := &Stats{}
	st.BeginEpoch(1)
	rx := &rxState{flow: 4}
	pkt := make([]byte, PacketLen)
	writeProbe(pkt[rtpHeaderLen:], 5, 1, 0, mono())
	st.record(DirUp, rx, pkt, mono()) // another flow's packet on this socket
	st.record(DirUp, rx, pkt[:20], mono())
	junk := make([]byte, PacketLen)
	st.record(DirUp, rx, junk, mono())
	if st.Invalid.Load() != 3 || st.Window(1, DirUp).Received != 0 {
		t.Fatalf("invalid %d", st.Invalid.Load())
	}
	p, ok := readProbe(pkt)
	if !ok || p.flow != 5 || p.epoch != 1 || p.count != 0 || p.sent <= 0 {
		t.Fatalf("probe %+v %v", p, ok)
	}
}

func srtpPair(t testing.TB, prof srtp.ProtectionProfile) (enc, dec *srtp.Context) {
	t.Helper()
	kl, err := prof.KeyLen()
	if err != nil {
		t.Fatal(err)
	}
	sl, _ := prof.SaltLen()
	key, salt := make([]byte, kl), make([]byte, sl)
	for i := range key {
		key[i] = byte(i)
	}
	if enc, err = srtp.CreateContext(key, salt, prof); err != nil {
		t.Fatal(err)
	}
	if dec, err = srtp.CreateContext(key, salt, prof, srtp.SRTPReplayProtection(128)); err != nil {
		t.Fatal(err)
	}
	return enc, dec
}

func TestSRTPFlowRoundTrip(t *testing.T) {
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		enc, dec := srtpPair(t, prof)
		st := &Stats{}
		st.BeginEpoch(1)
		rx := &rxState{flow: 9}
		p := &lossyPath{st: st, rx: rx, dir: DirDown, dec: dec}
		f := newFlow(st, DirDown, 9, p, netip.AddrPort{}, enc)
		for range 100 {
			f.Send()
		}
		if w := st.Window(1, DirDown); w.Sent != 100 || w.Received != 100 {
			t.Fatalf("profile %v: %d/%d through SRTP", prof, w.Received, w.Sent)
		}
	}
}

type discard struct{}

func (discard) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }

// TestSendAllocs: the per-packet send path must not allocate, plain or
// SRTP, or the load tool's own GC would distort what it measures.
func TestSendAllocs(t *testing.T) {
	st := &Stats{}
	st.BeginEpoch(1)
	enc, _ := srtpPair(t, srtp.ProtectionProfileAes128CmHmacSha1_80)
	for name, f := range map[string]*flow{
		"plain": newFlow(st, DirUp, 1, discard{}, netip.AddrPort{}, nil),
		"srtp":  newFlow(st, DirDown, 2, discard{}, netip.AddrPort{}, enc),
	} {
		f.Send() // the SRTP context creates its per-SSRC state once
		if a := testing.AllocsPerRun(200, f.Send); a != 0 {
			t.Errorf("%s Send: %.1f allocs per packet", name, a)
		}
	}
}

func TestReceiveAllocs(t *testing.T) {
	st := &Stats{}
	st.BeginEpoch(1)
	enc, dec := srtpPair(t, srtp.ProtectionProfileAes128CmHmacSha1_80)
	var pkts [][]byte
	sink := &capture{}
	f := newFlow(st, DirUp, 1, sink, netip.AddrPort{}, enc)
	for range 300 {
		f.Send()
	}
	pkts = sink.pkts
	rx := &rxState{flow: 1}
	plain := make([]byte, 2048)
	var hdr rtp.Header
	i := 0
	recv := func() {
		out, err := dec.DecryptRTP(plain[:0], pkts[i], &hdr)
		if err != nil {
			t.Fatal(err)
		}
		st.record(DirUp, rx, out, mono())
		i++
	}
	recv()
	if a := testing.AllocsPerRun(200, recv); a != 0 {
		t.Errorf("receive path: %.1f allocs per packet", a)
	}
}

type capture struct{ pkts [][]byte }

func (c *capture) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	c.pkts = append(c.pkts, append([]byte(nil), b...))
	return len(b), nil
}

func BenchmarkSendSRTP(b *testing.B) {
	st := &Stats{}
	st.BeginEpoch(1)
	enc, _ := srtpPair(b, srtp.ProtectionProfileAes128CmHmacSha1_80)
	f := newFlow(st, DirDown, 2, discard{}, netip.AddrPort{}, enc)
	b.ReportAllocs()
	for range b.N {
		f.Send()
	}
}
