//go:build interop

package crypto

// Cross-checks Sessions against libsrtp2 (apt: libsrtp2-dev; cgo lives in the test-only
// package crypto/internal/libsrtp). Run: go test -tags interop ./crypto/

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/srtpgw/srtpgw/crypto/internal/libsrtp"
)

func randomKeys(t *testing.T, p Profile) SessionKeys {
	t.Helper()
	rnd := func(n int) []byte {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	return SessionKeys{Profile: p, LocalKey: rnd(p.KeyLen()), LocalSalt: rnd(p.SaltLen()),
		RemoteKey: rnd(p.KeyLen()), RemoteSalt: rnd(p.SaltLen())}
}

func TestLibsrtpInterop(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			keys := randomKeys(t, pc.p)
			ours, err := NewSession(keys, 0)
			if err != nil {
				t.Fatal(err)
			}
			// The peer: libsrtp receives with our Local keys and sends with our Remote keys.
			libIn, err := libsrtp.New(uint16(pc.p), false, keys.LocalKey, keys.LocalSalt, 128)
			if err != nil {
				t.Fatal(err)
			}
			defer libIn.Close()
			libOut, err := libsrtp.New(uint16(pc.p), true, keys.RemoteKey, keys.RemoteSalt, 128)
			if err != nil {
				t.Fatal(err)
			}
			defer libOut.Close()
			// A libsrtp sender with OUR key, to compare SRTP bytes exactly.
			libTwin, err := libsrtp.New(uint16(pc.p), true, keys.LocalKey, keys.LocalSalt, 128)
			if err != nil {
				t.Fatal(err)
			}
			defer libTwin.Close()

			// RTP, across a sequence-number wrap so the ROC is exercised on both sides.
			for seq := uint16(65533); seq != 4; seq++ {
				pkt := rtpPacket(seq, 0x0badcafe, g711Payload)

				ct, err := ours.EncryptRTP(nil, pkt)
				if err != nil {
					t.Fatal(err)
				}
				twin, err := libTwin.ProtectRTP(pkt)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ct, twin) {
					t.Fatalf("seq %d: our SRTP differs from libsrtp's\n ours %x\n lib  %x", seq, ct, twin)
				}
				pt, err := libIn.UnprotectRTP(ct)
				if err != nil || !bytes.Equal(pt, pkt) {
					t.Fatalf("seq %d: libsrtp could not decrypt our SRTP: %v", seq, err)
				}

				lct, err := libOut.ProtectRTP(pkt)
				if err != nil {
					t.Fatal(err)
				}
				pt, err = ours.DecryptRTP(nil, lct)
				if err != nil || !bytes.Equal(pt, pkt) {
					t.Fatalf("seq %d: we could not decrypt libsrtp's SRTP: %v", seq, err)
				}
				// Replays are refused by both.
				if _, err := ours.DecryptRTP(nil, lct); err != ErrReplay { //nolint:errorlint
					t.Fatalf("replay of libsrtp packet: %v", err)
				}
			}

			// RTCP both ways (libsrtp starts its SRTCP index at 0, pion at 1, so compare by
			// decryption rather than bytes).
			for i := 0; i < 3; i++ {
				pkt := rtcpPacket(0x0badcafe)
				ct, err := ours.EncryptRTCP(nil, pkt)
				if err != nil {
					t.Fatal(err)
				}
				pt, err := libIn.UnprotectRTCP(ct)
				if err != nil || !bytes.Equal(pt, pkt) {
					t.Fatalf("libsrtp could not decrypt our SRTCP: %v", err)
				}
				lct, err := libOut.ProtectRTCP(pkt)
				if err != nil {
					t.Fatal(err)
				}
				pt, err = ours.DecryptRTCP(nil, lct)
				if err != nil || !bytes.Equal(pt, pkt) {
					t.Fatalf("we could not decrypt libsrtp's SRTCP: %v", err)
				}
			}

			// Tampering detected across implementations.
			bad, err := libOut.ProtectRTP(rtpPacket(100, 0x0badcafe, 40))
			if err != nil {
				t.Fatal(err)
			}
			bad[20] ^= 1
			if _, err := ours.DecryptRTP(nil, bad); err != ErrAuth { //nolint:errorlint
				t.Fatalf("tampered libsrtp packet: %v, want ErrAuth", err)
			}
		})
	}
}
