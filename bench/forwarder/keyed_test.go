package forwarder

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
	"github.com/srtpgw/srtpgw/bench/load"
	"github.com/srtpgw/srtpgw/bench/statickeys"
	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/udp"
)

// The keyed forwarder protects what it sends to the upstream with the
// call's to-upstream keys, decrypts what the upstream sends with its
// from-upstream keys, and drops what does not authenticate.
func TestKeyedForwarderTransform(t *testing.T) {
	const id = "keyed-1"
	s := &Server{cfg: Config{StaticSRTP: crypto.ProfileAES128CMHMACSHA1_80}}
	sess, err := s.staticSession(id)
	if err != nil {
		t.Fatal(err)
	}
	to, from, err := statickeys.Derive(id, crypto.ProfileAES128CMHMACSHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	upDec, err := srtp.CreateContext(to.Key, to.Salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	upEnc, err := srtp.CreateContext(from.Key, from.Salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	var peer atomic.Pointer[netip.AddrPort]
	dst := netip.MustParseAddrPort("127.0.0.1:9")
	peer.Store(&dst)
	var st Stats
	enc := &pollFwd{st: &st, peer: &peer, sess: sess, op: opEncrypt}
	dec := &pollFwd{st: &st, peer: &peer, sess: sess, op: opDecrypt}

	plain := make([]byte, 172)
	plain[0], plain[3], plain[11] = 0x80, 7, 42 // V=2, seq 7, SSRC 42
	for i := 12; i < len(plain); i++ {
		plain[i] = byte(i)
	}
	scratch := make([]byte, 2048)
	out, _, to2 := enc.Receive(append([]byte(nil), plain...), netip.AddrPort{}, scratch)
	if to2 != dst || len(out) != len(plain)+10 || bytes.Equal(out[12:len(plain)], plain[12:]) {
		t.Fatalf("toward the upstream: %d bytes to %v, payload in the clear: %v", len(out), to2, bytes.Equal(out[12:len(plain)], plain[12:]))
	}
	got, err := upDec.DecryptRTP(nil, out, nil)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("the upstream cannot decrypt what the forwarder sent: %v", err)
	}

	srtpPkt, err := upEnc.EncryptRTP(nil, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := append([]byte(nil), srtpPkt...)
	forged[20] ^= 1
	if out, _, _ := dec.Receive(forged, netip.AddrPort{}, make([]byte, 2048)); out != nil || st.Dropped.Load() != 1 {
		t.Fatalf("a forged packet was forwarded (%d bytes), drops %d", len(out), st.Dropped.Load())
	}
	out, _, _ = dec.Receive(srtpPkt, netip.AddrPort{}, make([]byte, 2048))
	if !bytes.Equal(out, plain) {
		t.Fatal("the phone did not get the upstream's plaintext")
	}
	if st.Forwarded.Load() != 2 {
		t.Fatalf("forwarded %d, want 2", st.Forwarded.Load())
	}
}

// The keyed forwarder needs the poller, and the load tool's -static-srtp
// mode gets every packet through it in both directions (an upstream
// that could not decrypt would count auth failures and loss).
func TestKeyedForwarderWithLoadTool(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	if _, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 24000, PortMax: 24999,
		Interfaces: []Interface{{"lan", lo}}, StaticSRTP: crypto.ProfileAEADAES128GCM}); err == nil {
		t.Fatal("static SRTP without the poller was accepted")
	}
	p, err := udp.NewPoller(1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{ListenNG: "127.0.0.1:0", PortMin: 24000, PortMax: 24999, Poller: p,
		Interfaces: []Interface{{"lan", lo}, {"wan", lo}}, StaticSRTP: crypto.ProfileAEADAES128GCM})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer p.Close()
	defer s.Close()
	cfg := load.DefaultConfig()
	cfg.NG, cfg.PID = s.Addr().String(), os.Getpid()
	cfg.PlainUpstream, cfg.StaticSRTP, cfg.GCM = true, true, true
	cfg.Direction = []string{"lan", "wan"}
	cfg.PhoneAddr, cfg.UpstreamAddr = lo, lo
	cfg.PhonePortBase = 25000 + 2*rand.IntN(1000)
	cfg.Steps, cfg.Duration, cfg.Warmup = []int{2}, 500*time.Millisecond, 100*time.Millisecond
	res := runClean(t, cfg)
	if res.Mode != "static-srtp" || res.Profile != "SRTP_AEAD_AES_128_GCM" {
		t.Fatalf("mode %q profile %q", res.Mode, res.Profile)
	}
	st := res.Steps[0]
	if st.Up.Delivered == 0 || st.Up.Delivered != st.Up.Sent || st.Down.Delivered != st.Down.Sent {
		t.Fatalf("up %+v down %+v", st.Up, st.Down)
	}
}
