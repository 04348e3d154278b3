// Cross-package benchmarks of the per-packet path. The names are fixed so
// that runs can be compared over time (issue: media core).
package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"testing"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay"
)

// g711 is a 172-byte G.711 RTP packet: 12-byte header, 160-byte payload
// (20 ms at 8 kHz).
func g711(seq uint16) []byte {
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(pkt[8:], 0x11223344)
	for i := 12; i < len(pkt); i++ {
		pkt[i] = byte(i)
	}
	return pkt
}

var profiles = []struct {
	name string
	p    crypto.Profile
}{
	{"gcm128", crypto.ProfileAEADAES128GCM},
	{"gcm256", crypto.ProfileAEADAES256GCM},
	{"cm80", crypto.ProfileAES128CMHMACSHA1_80},
}

// BenchmarkRelayPlainToSRTP is the full handle step for phone -> upstream:
// classify, source check, route lookup, SRTP encryption, counters.
func BenchmarkRelayPlainToSRTP(b *testing.B) { benchPlainToSRTP(b, false) }

// benchPlainToSRTP runs the phone -> upstream step for every profile, on a
// plain DTLS-SRTP leg or, with ice, on an ICE leg.
func benchPlainToSRTP(b *testing.B, ice bool) {
	for _, p := range profiles {
		b.Run(p.name, func(b *testing.B) {
			path, err := relay.NewBenchPath(p.p)
			if err != nil {
				b.Fatal(err)
			}
			if ice {
				path.EnableICE()
			}
			pkt := g711(1)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			seq := uint16(1)
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				if _, err := path.PlainToSRTP(pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRelaySRTPToPlain is the reverse: classify, SRTP authentication,
// replay check, decryption, route lookup, counters. Each packet must be
// fresh for the replay window, so they are made ahead with the timer off.
func BenchmarkRelaySRTPToPlain(b *testing.B) {
	for _, p := range profiles {
		b.Run(p.name, func(b *testing.B) {
			path, err := relay.NewBenchPath(p.p)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 4096
			in := make([][]byte, batch)
			seq := uint16(0)
			refill := func() {
				for i := range in {
					seq++
					in[i], err = path.PeerEncryptRTP(in[i][:0], g711(seq))
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.SetBytes(172)
			b.ReportAllocs()
			i := batch
			for b.Loop() {
				if i == batch {
					b.StopTimer()
					refill()
					i = 0
					b.StartTimer()
				}
				if _, err := path.SRTPToPlain(in[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkRawAESGCMSeal is the lower bound: crypto/cipher AES-128-GCM Seal
// of the same 160-byte payload with the 12-byte header as associated data,
// which is what SRTP AEAD_AES_128_GCM does per packet (RFC 7714 §8).
func BenchmarkRawAESGCMSeal(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	pkt := g711(1)
	nonce := make([]byte, 12)
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		nonce[11]++
		dst = aead.Seal(dst[:0], nonce, pkt[12:], pkt[:12])
	}
}
