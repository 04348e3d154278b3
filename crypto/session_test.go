package crypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestProbedPionErrors(t *testing.T) {
	if pionErrDuplicated == nil {
		t.Fatal("could not learn pion's duplicated-packet error; replays would be misclassified")
	}
	if pionErrExceeded == nil {
		t.Fatal("could not learn pion's exceeded-max-packets error; key exhaustion would be misclassified")
	}
	if errors.Is(pionErrDuplicated, pionErrExceeded) {
		t.Fatal("probed pion errors are not distinct")
	}
}

func TestNewSessionValidation(t *testing.T) {
	good := testKeys(ProfileAEADAES128GCM, 0)
	tests := []struct {
		name   string
		mutate func(k *SessionKeys)
		window uint
		ok     bool
	}{
		{"default window", func(*SessionKeys) {}, 0, true},
		{"min window", func(*SessionKeys) {}, MinReplayWindow, true},
		{"max window", func(*SessionKeys) {}, MaxReplayWindow, true},
		{"window below 64", func(*SessionKeys) {}, 32, false},
		{"window above max", func(*SessionKeys) {}, MaxReplayWindow + 1, false},
		{"short local key", func(k *SessionKeys) { k.LocalKey = k.LocalKey[:15] }, 0, false},
		{"short remote salt", func(k *SessionKeys) { k.RemoteSalt = k.RemoteSalt[:11] }, 0, false},
		{"cm salt length on gcm", func(k *SessionKeys) { k.LocalSalt = make([]byte, 14) }, 0, false},
		{"profile _32", func(k *SessionKeys) { k.Profile = 0x0002 }, 0, false},
		{"profile NULL", func(k *SessionKeys) { k.Profile = 0x0005 }, 0, false},
		{"profile zero", func(k *SessionKeys) { k.Profile = 0 }, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := testKeys(good.Profile, 0)
			tc.mutate(&k)
			s, err := NewSession(k, tc.window)
			if tc.ok != (err == nil) {
				t.Fatalf("NewSession err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && s.Profile() != k.Profile {
				t.Fatalf("Profile() = %v, want %v", s.Profile(), k.Profile)
			}
		})
	}
}

func TestSessionRoundTrip(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			a, b := sessionPair(t, pc.p)
			dirs := []struct {
				name     string
				from, to *Session
			}{{"a->b", a, b}, {"b->a", b, a}}
			for _, d := range dirs {
				for seq := uint16(65530); seq != 5; seq++ { // crosses the ROC wrap
					pkt := rtpPacket(seq, 0xdecafbad, g711Payload)
					ct, err := d.from.EncryptRTP(nil, pkt)
					if err != nil {
						t.Fatalf("%s EncryptRTP: %v", d.name, err)
					}
					if len(ct) != len(pkt)+pc.p.Overhead() {
						t.Fatalf("%s SRTP length %d, want %d", d.name, len(ct), len(pkt)+pc.p.Overhead())
					}
					if bytes.Equal(ct[12:len(pkt)], pkt[12:]) {
						t.Fatalf("%s payload not encrypted", d.name)
					}
					if !bytes.Equal(ct[:12], pkt[:12]) {
						t.Fatalf("%s RTP header must stay in clear (RFC 3711 §3.1)", d.name)
					}
					pt, err := d.to.DecryptRTP(nil, ct)
					if err != nil {
						t.Fatalf("%s DecryptRTP seq %d: %v", d.name, seq, err)
					}
					if !bytes.Equal(pt, pkt) {
						t.Fatalf("%s RTP round trip mismatch", d.name)
					}
				}
				for i := 0; i < 3; i++ {
					pkt := rtcpPacket(0xdecafbad)
					ct, err := d.from.EncryptRTCP(nil, pkt)
					if err != nil {
						t.Fatalf("%s EncryptRTCP: %v", d.name, err)
					}
					if len(ct) != len(pkt)+pc.p.RTCPOverhead() {
						t.Fatalf("%s SRTCP length %d, want %d", d.name, len(ct), len(pkt)+pc.p.RTCPOverhead())
					}
					pt, err := d.to.DecryptRTCP(nil, ct)
					if err != nil {
						t.Fatalf("%s DecryptRTCP: %v", d.name, err)
					}
					if !bytes.Equal(pt, pkt) {
						t.Fatalf("%s RTCP round trip mismatch", d.name)
					}
				}
			}
		})
	}
}

// TestSessionBufferReuse checks the dst contract: result lives in dst's array, in place works.
func TestSessionBufferReuse(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			a, b := sessionPair(t, pc.p)
			pkt := rtpPacket(7, 1, g711Payload)
			dst := make([]byte, 3, 1500) // len is irrelevant, capacity is what counts
			ct, err := a.EncryptRTP(dst, pkt)
			if err != nil {
				t.Fatal(err)
			}
			if &ct[0] != &dst[:1][0] {
				t.Fatal("EncryptRTP did not reuse dst's backing array")
			}
			// In place: decrypt into the ciphertext's own buffer.
			want := append([]byte(nil), pkt...)
			pt, err := b.DecryptRTP(ct[:0], ct)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, want) {
				t.Fatal("in-place decrypt mismatch")
			}
			// In place encrypt: pkt in a buffer with room for the tag.
			buf := make([]byte, len(pkt), len(pkt)+pc.p.Overhead())
			copy(buf, pkt)
			pkt2 := rtpPacket(8, 1, g711Payload)
			copy(buf, pkt2)
			ct2, err := a.EncryptRTP(buf[:0], buf)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := b.DecryptRTP(nil, ct2); err != nil || !bytes.Equal(pt, pkt2) {
				t.Fatalf("in-place encrypt round trip: %v", err)
			}
		})
	}
}

func TestSessionTamper(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			a, _ := sessionPair(t, pc.p)
			pkt := rtpPacket(100, 0x55, g711Payload)
			ct, err := a.EncryptRTP(nil, pkt)
			if err != nil {
				t.Fatal(err)
			}
			rtcpCT, err := a.EncryptRTCP(nil, rtcpPacket(0x55))
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				rtcp bool
				pos  int
			}{
				{"rtp marker/pt byte", false, 1},
				{"rtp timestamp", false, 5},
				{"rtp payload first", false, 12},
				{"rtp payload last", false, len(pkt) - 1},
				{"rtp tag", false, len(ct) - 1},
				{"rtcp header length", true, 3},
				{"rtcp payload", true, 10},
				{"rtcp index", true, rtcpIndexPos(pc.p, len(rtcpCT))},
				{"rtcp tag", true, rtcpTagPos(pc.p, len(rtcpCT))},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					_, b := sessionPair(t, pc.p) // fresh replay state per case
					var bad []byte
					if tc.rtcp {
						bad = append([]byte(nil), rtcpCT...)
					} else {
						bad = append([]byte(nil), ct...)
					}
					bad[tc.pos] ^= 0x01
					var err error
					if tc.rtcp {
						_, err = b.DecryptRTCP(nil, bad)
					} else {
						_, err = b.DecryptRTP(nil, bad)
					}
					if err != ErrAuth { //nolint:errorlint // the contract is identity with the sentinel
						t.Fatalf("tampered %s: err = %v, want ErrAuth", tc.name, err)
					}
				})
			}
			// Wrong key entirely: a session keyed differently.
			other, err := NewSession(mirror(testKeys(pc.p, 9)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.DecryptRTP(nil, ct); err != ErrAuth { //nolint:errorlint
				t.Fatalf("wrong key: err = %v, want ErrAuth", err)
			}
		})
	}
}

// rtcpIndexPos is the offset of the last byte of the E+index word: before the HMAC tag for
// AES-CM (RFC 3711 §3.4), at the very end after the GCM tag (RFC 7714 §9).
func rtcpIndexPos(p Profile, n int) int {
	if p == ProfileAES128CMHMACSHA1_80 {
		return n - 10 - 1
	}
	return n - 1
}

// rtcpTagPos is the offset of the last byte of the SRTCP authentication tag.
func rtcpTagPos(p Profile, n int) int {
	if p == ProfileAES128CMHMACSHA1_80 {
		return n - 1
	}
	return n - 4 - 1
}

func TestSessionReplay(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			a, b := sessionPair(t, pc.p)
			enc := func(seq uint16) []byte {
				ct, err := a.EncryptRTP(nil, rtpPacket(seq, 0x77, 20))
				if err != nil {
					t.Fatal(err)
				}
				return ct
			}
			p10, p9, p200 := enc(10), enc(9), enc(200)
			if _, err := b.DecryptRTP(nil, p10); err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTP(nil, p10); err != ErrReplay { //nolint:errorlint
				t.Fatalf("replayed RTP: err = %v, want ErrReplay", err)
			}
			if _, err := b.DecryptRTP(nil, p9); err != nil {
				t.Fatalf("late but in-window packet rejected: %v", err)
			}
			if _, err := b.DecryptRTP(nil, p200); err != nil {
				t.Fatal(err)
			}
			// seq 9 is now 191 behind 200: outside the default 128 window.
			p9b := enc(9)
			if _, err := b.DecryptRTP(nil, p9b); err != ErrReplay { //nolint:errorlint
				t.Fatalf("packet behind the window: err = %v, want ErrReplay", err)
			}

			r1, err := a.EncryptRTCP(nil, rtcpPacket(0x77))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTCP(nil, r1); err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTCP(nil, r1); err != ErrReplay { //nolint:errorlint
				t.Fatalf("replayed RTCP: err = %v, want ErrReplay", err)
			}
		})
	}
}

// TestSessionForgeryDoesNotAdvanceWindow: a forged packet with a far-ahead sequence number
// must not move the replay window (RFC 3711 §3.3.2: update only after authentication), or an
// attacker could make every genuine packet look old.
func TestSessionForgeryDoesNotAdvanceWindow(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			a, b := sessionPair(t, pc.p)
			forged, err := a.EncryptRTP(nil, rtpPacket(5000, 0x77, 20))
			if err != nil {
				t.Fatal(err)
			}
			forged[len(forged)-1] ^= 0xff
			if _, err := b.DecryptRTP(nil, forged); err != ErrAuth { //nolint:errorlint
				t.Fatalf("forged: err = %v, want ErrAuth", err)
			}
			genuine, err := a.EncryptRTP(nil, rtpPacket(10, 0x77, 20))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.DecryptRTP(nil, genuine); err != nil {
				t.Fatalf("genuine packet after forgery: %v", err)
			}
		})
	}
}

func TestSessionMalformed(t *testing.T) {
	valid := rtpPacket(1, 2, 20)
	ext := append([]byte(nil), valid...)
	ext[0] |= 0x10 // X bit, but the "extension header" claims 0xffff words
	ext[14], ext[15] = 0xff, 0xff
	csrc := append([]byte(nil), valid...)
	csrc[0] |= 0x0f // 15 CSRCs = 60 more bytes than the packet has
	v1 := append([]byte(nil), valid...)
	v1[0] = 0x40

	tests := []struct {
		name string
		pkt  []byte
	}{
		{"nil", nil},
		{"one byte", []byte{0x80}},
		{"11 bytes", valid[:11]},
		{"version 1", v1},
		{"csrc overrun", csrc},
		{"extension overrun", ext},
	}
	for _, pc := range profileCases {
		a, b := sessionPair(t, pc.p)
		for _, tc := range tests {
			t.Run(pc.name+"/"+tc.name, func(t *testing.T) {
				for name, f := range map[string]func([]byte, []byte) ([]byte, error){
					"EncryptRTP": a.EncryptRTP, "DecryptRTP": b.DecryptRTP,
					"EncryptRTCP": a.EncryptRTCP, "DecryptRTCP": b.DecryptRTCP,
				} {
					isRTCP := name == "EncryptRTCP" || name == "DecryptRTCP"
					if isRTCP && len(tc.pkt) >= 8 && tc.pkt[0]>>6 == 2 && name == "EncryptRTCP" {
						continue // a long-enough v2 buffer is a valid RTCP packet to encrypt
					}
					out, err := f(make([]byte, 0, 64), tc.pkt)
					if err != ErrMalformed && err != ErrAuth { //nolint:errorlint
						t.Errorf("%s: err = %v, want ErrMalformed or ErrAuth", name, err)
					}
					if len(out) != 0 {
						t.Errorf("%s: returned %d bytes on error", name, len(out))
					}
				}
			})
		}
		t.Run(pc.name+"/header only, no tag", func(t *testing.T) {
			if _, err := b.DecryptRTP(nil, valid[:12]); err != ErrMalformed { //nolint:errorlint
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if _, err := b.DecryptRTCP(nil, valid[:8+pc.p.RTCPOverhead()-1]); err != ErrMalformed { //nolint:errorlint
				t.Fatalf("RTCP err = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestSessionGarbageNeverPanics throws random bytes (with plausible first bytes) at every
// method; the only acceptable outcomes are the sentinels.
func TestSessionGarbageNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, pc := range profileCases {
		a, b := sessionPair(t, pc.p)
		buf := make([]byte, 0, 2048)
		for i := 0; i < 3000; i++ {
			n := rng.IntN(200)
			pkt := make([]byte, n)
			for j := range pkt {
				pkt[j] = byte(rng.Uint32())
			}
			if n > 0 && i%2 == 0 {
				pkt[0] = 0x80 | pkt[0]&0x3f
			}
			for _, f := range []func([]byte, []byte) ([]byte, error){b.DecryptRTP, b.DecryptRTCP} {
				if _, err := f(buf, pkt); err != ErrMalformed && err != ErrAuth && err != ErrReplay { //nolint:errorlint
					t.Fatalf("%s: garbage %x: err = %v", pc.name, pkt, err)
				}
			}
			if _, err := a.EncryptRTP(buf, pkt); err != nil && err != ErrMalformed { //nolint:errorlint
				t.Fatalf("%s: EncryptRTP garbage: err = %v", pc.name, err)
			}
		}
	}
}

// TestSessionKeyExhausted forces the ROC and the SRTCP index to their maxima (RFC 3711 §9.2).
func TestSessionKeyExhausted(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			a, _ := sessionPair(t, pc.p)
			const ssrc = 0x1234
			a.encRTP.ctx.SetROC(ssrc, ^uint32(0))
			if _, err := a.EncryptRTP(nil, rtpPacket(0xfffe, ssrc, 20)); err != nil {
				t.Fatalf("packet below the limit: %v", err)
			}
			if _, err := a.EncryptRTP(nil, rtpPacket(0xffff, ssrc, 20)); err != nil {
				t.Fatalf("last packet index: %v", err)
			}
			if _, err := a.EncryptRTP(nil, rtpPacket(0, ssrc, 20)); err != ErrKeyExhausted { //nolint:errorlint
				t.Fatalf("index wrap: err = %v, want ErrKeyExhausted", err)
			}

			a.encRTCP.ctx.SetIndex(ssrc, 0x7ffffffe)
			if _, err := a.EncryptRTCP(nil, rtcpPacket(ssrc)); err != nil {
				t.Fatalf("SRTCP index 2^31-1: %v", err)
			}
			if _, err := a.EncryptRTCP(nil, rtcpPacket(ssrc)); err != ErrKeyExhausted { //nolint:errorlint
				t.Fatalf("SRTCP past 2^31-1: err = %v, want ErrKeyExhausted", err)
			}
			// Other SSRCs are counted separately by pion; each has its own index space.
			if _, err := a.EncryptRTCP(nil, rtcpPacket(ssrc+1)); err != nil {
				t.Fatalf("other SSRC: %v", err)
			}
		})
	}
}

// TestSessionErrorPathAllocs documents which rejections allocate (pion builds error values
// for some); the relay counts drops, so this is informational but must not regress silently.
func TestSessionErrorPathAllocs(t *testing.T) {
	a, b := sessionPair(t, ProfileAES128CMHMACSHA1_80)
	ct, err := a.EncryptRTP(nil, rtpPacket(1, 3, g711Payload))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.DecryptRTP(nil, ct); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 0, 1500)
	short := ct[:12]
	if n := testing.AllocsPerRun(50, func() { _, _ = b.DecryptRTP(out, short) }); n != 0 {
		t.Errorf("malformed drop allocates %v/op, want 0 (checked before pion)", n)
	}
	bad := append([]byte(nil), ct...)
	binary.BigEndian.PutUint16(bad[2:], 2)
	if n := testing.AllocsPerRun(50, func() { _, _ = b.DecryptRTP(out, bad) }); n != 0 {
		t.Errorf("CM auth failure allocates %v/op, want 0", n)
	}
	replay := testing.AllocsPerRun(50, func() { _, _ = b.DecryptRTP(out, ct) })
	t.Logf("replay drop: %v allocs/op (pion allocates its duplicatedError)", replay)

	g, h := sessionPair(t, ProfileAEADAES128GCM)
	gct, err := g.EncryptRTP(nil, rtpPacket(1, 3, g711Payload))
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(gct[2:], 2)
	gcmAuth := testing.AllocsPerRun(50, func() { _, _ = h.DecryptRTP(out, gct) })
	t.Logf("GCM auth-failure drop: %v allocs/op (pion wraps the AEAD error with fmt.Errorf)", gcmAuth)
}
