package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // RFC 3711 §4.2 baseline
	"encoding/binary"
	"testing"
)

// g711Payload is one 20 ms G.711 frame; packets are 12+160 = 172 bytes.
const g711Payload = 160

// TestSessionZeroAllocs pins DESIGN §3 "no allocations per packet" for all four operations
// and every profile with a 172-byte G.711 packet.
func TestSessionZeroAllocs(t *testing.T) {
	const runs = 200
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			a, b := sessionPair(t, pc.p)
			pkt := rtpPacket(1, 0x11223344, g711Payload)
			out := make([]byte, 0, 1500)
			plain := make([]byte, 0, 1500)

			seq := uint16(1)
			if n := testing.AllocsPerRun(runs, func() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				if _, err := a.EncryptRTP(out, pkt); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("EncryptRTP: %v allocs/op, want 0", n)
			}

			// AllocsPerRun calls f runs+1 times; every call needs a fresh packet index.
			enc := make([][]byte, runs+1)
			for i := range enc {
				binary.BigEndian.PutUint16(pkt[2:], uint16(1000+i))
				ct, err := a.EncryptRTP(nil, pkt)
				if err != nil {
					t.Fatal(err)
				}
				enc[i] = ct
			}
			i := 0
			if n := testing.AllocsPerRun(runs, func() {
				if _, err := b.DecryptRTP(plain, enc[i]); err != nil {
					t.Fatal(err)
				}
				i++
			}); n != 0 {
				t.Errorf("DecryptRTP: %v allocs/op, want 0", n)
			}

			rtcpPkt := rtcpPacket(0x11223344)
			if n := testing.AllocsPerRun(runs, func() {
				if _, err := a.EncryptRTCP(out, rtcpPkt); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("EncryptRTCP: %v allocs/op, want 0", n)
			}

			encRTCP := make([][]byte, runs+1)
			for i := range encRTCP {
				ct, err := a.EncryptRTCP(nil, rtcpPkt)
				if err != nil {
					t.Fatal(err)
				}
				encRTCP[i] = ct
			}
			i = 0
			if n := testing.AllocsPerRun(runs, func() {
				if _, err := b.DecryptRTCP(plain, encRTCP[i]); err != nil {
					t.Fatal(err)
				}
				i++
			}); n != 0 {
				t.Errorf("DecryptRTCP: %v allocs/op, want 0", n)
			}
		})
	}
}

func BenchmarkSessionEncryptRTP(b *testing.B) {
	for _, pc := range profileCases {
		b.Run(pc.name, func(b *testing.B) {
			a, _ := sessionPair(b, pc.p)
			pkt := rtpPacket(1, 0x11223344, g711Payload)
			out := make([]byte, 0, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			seq := uint16(0)
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				if _, err := a.EncryptRTP(out, pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSessionDecryptRTP(b *testing.B) {
	for _, pc := range profileCases {
		b.Run(pc.name, func(b *testing.B) {
			a, d := sessionPair(b, pc.p)
			pkt := rtpPacket(1, 0x11223344, g711Payload)
			seq := uint16(0)
			batch := newBatch(func(dst []byte) []byte {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				ct, err := a.EncryptRTP(dst, pkt)
				if err != nil {
					b.Fatal(err)
				}
				return ct
			})
			out := make([]byte, 0, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if _, err := d.DecryptRTP(out, batch.next(b)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSessionDecryptRTCP(b *testing.B) {
	for _, pc := range profileCases {
		b.Run(pc.name, func(b *testing.B) {
			a, d := sessionPair(b, pc.p)
			pkt := rtcpPacket(0x11223344)
			batch := newBatch(func(dst []byte) []byte {
				ct, err := a.EncryptRTCP(dst, pkt)
				if err != nil {
					b.Fatal(err)
				}
				return ct
			})
			out := make([]byte, 0, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if _, err := d.DecryptRTCP(out, batch.next(b)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// packetBatch pre-encrypts packets outside the timer, because each decrypted packet needs
// a fresh index (the replay window rejects repeats).
type packetBatch struct {
	gen  func(dst []byte) []byte
	pkts [][]byte
	i    int
}

func newBatch(gen func(dst []byte) []byte) *packetBatch {
	pb := &packetBatch{gen: gen, pkts: make([][]byte, 4096)}
	for i := range pb.pkts {
		pb.pkts[i] = make([]byte, 0, 1500)
	}
	pb.i = len(pb.pkts)
	return pb
}

func (pb *packetBatch) next(b *testing.B) []byte {
	if pb.i == len(pb.pkts) {
		b.StopTimer()
		for i := range pb.pkts {
			pb.pkts[i] = pb.gen(pb.pkts[i][:0])
		}
		pb.i = 0
		b.StartTimer()
	}
	p := pb.pkts[pb.i]
	pb.i++
	return p
}

func BenchmarkSessionEncryptRTCP(b *testing.B) {
	for _, pc := range profileCases {
		b.Run(pc.name, func(b *testing.B) {
			a, _ := sessionPair(b, pc.p)
			pkt := rtcpPacket(0x11223344)
			out := make([]byte, 0, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if _, err := a.EncryptRTCP(out, pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawAESGCMSeal is the floor the Session is compared against: one AES-128-GCM Seal
// of a 160-byte payload with a 12-byte AAD, as RFC 7714 §8 does per packet.
func BenchmarkRawAESGCMSeal(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	pkt := rtpPacket(1, 0x11223344, g711Payload)
	nonce := make([]byte, 12)
	out := make([]byte, 0, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		nonce[11]++
		out = aead.Seal(out[:0], nonce, pkt[12:], pkt[:12])
	}
	_ = out
}

// BenchmarkRawAESCTRHMACSHA1 is the stdlib floor for AES_CM_128_HMAC_SHA1_80: AES-128-CTR
// over the payload plus HMAC-SHA1 over header, payload and ROC (RFC 3711 §4.1.1, §4.2).
// cipher.NewCTR allocates per packet; it is here to size CM80's inherent cost, not as a
// model for the hot path.
func BenchmarkRawAESCTRHMACSHA1(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	mac := hmac.New(sha1.New, make([]byte, 20))
	pkt := rtpPacket(1, 0x11223344, g711Payload)
	iv := make([]byte, 16)
	out := make([]byte, len(pkt), 1500)
	tag := make([]byte, 0, sha1.Size)
	roc := []byte{0, 0, 0, 0}
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		iv[13]++
		copy(out, pkt[:12])
		cipher.NewCTR(block, iv).XORKeyStream(out[12:], pkt[12:])
		mac.Reset()
		mac.Write(out)
		mac.Write(roc)
		tag = mac.Sum(tag[:0])
	}
}
