package crypto

// RFC test vectors pinning the SRTP transforms (DESIGN §4).
//
// pion/srtp derives session keys inside CreateContext and offers no way to inject derived
// session keys, and the AES-CM KDF cannot be inverted, so vectors stated in session keys
// (RFC 3711 B.2, RFC 7714 §16/§17) cannot be fed to a Session directly. The chain instead:
//
//  1. An independent reference written here on crypto/aes, crypto/cipher and crypto/hmac
//     (refKeystream, refKDF, refProtectRTPCM, refProtectRTPGCM, ...) reproduces the RFC
//     vectors exactly: B.2 keystream, B.3 and RFC 6188 §7.2 key derivation, RFC 7714 §16/§17
//     packets.
//  2. A Session built from RFC master keys (B.3, RFC 6188) protects packets, and the result
//     must equal the reference run on the RFC's derived session keys (CM) or on the
//     reference KDF's output (GCM). Our Session's peer then decrypts the reference output.
//
// So every byte a Session emits is pinned to RFC-published values through code that shares
// nothing with pion.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is the RFC 3711 §4.2 transform under test
	"encoding/binary"
	"testing"
)

// SRTP KDF labels, RFC 3711 §4.3.1 and §4.3.2.
const (
	labelRTPKey, labelRTPAuth, labelRTPSalt    = 0x00, 0x01, 0x02
	labelRTCPKey, labelRTCPAuth, labelRTCPSalt = 0x03, 0x04, 0x05
)

// refKeystream is AES in counter mode as RFC 3711 §4.1.1 defines it: the 128-bit IV is
// incremented as a big-endian integer per block.
func refKeystream(t testing.TB, key, iv []byte, n int) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ctr := append([]byte(nil), iv...)
	out := make([]byte, 0, n+16)
	blk := make([]byte, 16)
	for len(out) < n {
		block.Encrypt(blk, ctr)
		out = append(out, blk...)
		for i := 15; i >= 0; i-- {
			ctr[i]++
			if ctr[i] != 0 {
				break
			}
		}
	}
	return out[:n]
}

// refKDF is the AES-CM PRF of RFC 3711 §4.3.1/§4.3.3 with key_derivation_rate 0:
// x = (label << 48) XOR master_salt, keystream from IV = x * 2^16.
func refKDF(t testing.TB, masterKey, masterSalt []byte, label byte, n int) []byte {
	t.Helper()
	iv := make([]byte, 16)
	copy(iv, masterSalt) // 112-bit salt lands in the top 14 octets
	iv[7] ^= label
	return refKeystream(t, masterKey, iv, n)
}

// refProtectRTPCM is SRTP with AES_CM_128_HMAC_SHA1_80 per RFC 3711 §3.3, §4.1.1, §4.2.
func refProtectRTPCM(t testing.TB, encKey, salt, authKey []byte, roc uint32, pkt []byte) []byte {
	t.Helper()
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	index := uint64(roc)<<16 | uint64(binary.BigEndian.Uint16(pkt[2:]))
	// IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)
	iv := make([]byte, 16)
	copy(iv, salt)
	for k := 0; k < 4; k++ {
		iv[4+k] ^= byte(ssrc >> (24 - 8*k))
	}
	for k := 0; k < 6; k++ {
		iv[8+k] ^= byte(index >> (40 - 8*k))
	}
	out := append([]byte(nil), pkt...)
	ks := refKeystream(t, encKey, iv, len(pkt)-12)
	for k := range ks {
		out[12+k] ^= ks[k]
	}
	mac := hmac.New(sha1.New, authKey)
	mac.Write(out)
	var r [4]byte
	binary.BigEndian.PutUint32(r[:], roc)
	mac.Write(r[:]) // M = Authenticated Portion || ROC
	return append(out, mac.Sum(nil)[:10]...)
}

// refProtectRTCPCM is SRTCP with AES-CM/HMAC-SHA1-80 per RFC 3711 §3.4, §4.1.1.
func refProtectRTCPCM(t testing.TB, encKey, salt, authKey []byte, index uint32, pkt []byte) []byte {
	t.Helper()
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	iv := make([]byte, 16)
	copy(iv, salt)
	for k := 0; k < 4; k++ {
		iv[4+k] ^= byte(ssrc >> (24 - 8*k))
	}
	for k := 0; k < 4; k++ { // the 31-bit SRTCP index takes the place of the packet index
		iv[10+k] ^= byte(index >> (24 - 8*k))
	}
	out := append([]byte(nil), pkt...)
	ks := refKeystream(t, encKey, iv, len(pkt)-8)
	for k := range ks {
		out[8+k] ^= ks[k]
	}
	var e [4]byte
	binary.BigEndian.PutUint32(e[:], index|1<<31) // E flag set: payload encrypted
	out = append(out, e[:]...)
	mac := hmac.New(sha1.New, authKey)
	mac.Write(out)
	return append(out, mac.Sum(nil)[:10]...)
}

func refGCM(t testing.TB, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

// refProtectRTPGCM is SRTP AEAD_AES_*_GCM per RFC 7714 §8: IV = (0^16 || SSRC || ROC || SEQ)
// XOR salt (§8.1), AAD = the RTP header (§8.2), tag appended after the ciphertext.
func refProtectRTPGCM(t testing.TB, key, salt []byte, roc uint32, pkt []byte, hdrLen int) []byte {
	t.Helper()
	iv := make([]byte, 12)
	copy(iv[2:], pkt[8:12])
	binary.BigEndian.PutUint32(iv[6:], roc)
	copy(iv[10:], pkt[2:4])
	for k := range iv {
		iv[k] ^= salt[k]
	}
	out := append([]byte(nil), pkt[:hdrLen]...)
	return refGCM(t, key).Seal(out, iv, pkt[hdrLen:], pkt[:hdrLen])
}

// refProtectRTCPGCM is SRTCP AEAD per RFC 7714 §9: IV = (0^16 || SSRC || 0^16 || 0 ||
// index) XOR salt (§9.1), AAD = first 8 octets || E+index (§9.2), trailer tag then E+index.
func refProtectRTCPGCM(t testing.TB, key, salt []byte, index uint32, pkt []byte) []byte {
	t.Helper()
	iv := make([]byte, 12)
	copy(iv[2:], pkt[4:8])
	binary.BigEndian.PutUint32(iv[8:], index)
	for k := range iv {
		iv[k] ^= salt[k]
	}
	var e [4]byte
	binary.BigEndian.PutUint32(e[:], index|1<<31)
	aad := append(append([]byte(nil), pkt[:8]...), e[:]...)
	out := append([]byte(nil), pkt[:8]...)
	out = refGCM(t, key).Seal(out, iv, pkt[8:], aad)
	return append(out, e[:]...)
}

// TestRFC3711B2Keystream pins refKeystream to RFC 3711 Appendix B.2 (and RFC 6188 §7.1 for
// the 256-bit key used by AEAD_AES_256_GCM's KDF).
func TestRFC3711B2Keystream(t *testing.T) {
	iv := unhex(t, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")
	tests := []struct {
		name, key, want string
	}{
		{"RFC3711-B.2-AES128", "2B7E151628AED2A6ABF7158809CF4F3C",
			"E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0"},
		{"RFC6188-7.1-AES256", "57f82fe3613fd170a85ec93c40b1f0922ec4cb0dc025b58272147cc438944a98",
			"92bdd28a93c3f52511c677d08b5515a4 9da71b2378a854f67050756ded165bac 63c4868b7096d88421b563b8c94c9a31"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.want)
			if got := refKeystream(t, unhex(t, tc.key), iv, len(want)); !bytes.Equal(got, want) {
				t.Fatalf("keystream\n got %x\nwant %x", got, want)
			}
		})
	}
}

// kdfVector is a master key/salt with the session keys the RFC derives from it.
type kdfVector struct {
	name                           string
	masterKey, masterSalt          string
	cipherKey, cipherSalt, authKey string
}

var kdfVectors = []kdfVector{
	{ // RFC 3711 Appendix B.3
		name:      "RFC3711-B.3",
		masterKey: "E1F97A0D3E018BE0D64FA32C06DE4139", masterSalt: "0EC675AD498AFEEBB6960B3AABE6",
		cipherKey:  "C61E7A93744F39EE10734AFE3FF7A087",
		cipherSalt: "30CBBC08863D8C85D49DB34A9AE1",
		authKey:    "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4",
	},
	{ // RFC 6188 §7.2 (AES-256 PRF, used by AEAD_AES_256_GCM per RFC 7714 §11)
		name:       "RFC6188-7.2",
		masterKey:  "f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6",
		masterSalt: "3b04803de51ee7c96423ab5b78d2",
		cipherKey:  "5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4",
		cipherSalt: "fa31791685ca444a9e07c6c64e93",
		authKey:    "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05",
	},
}

// TestRFC3711B3KeyDerivation pins refKDF to the RFC's derived session keys.
func TestRFC3711B3KeyDerivation(t *testing.T) {
	for _, v := range kdfVectors {
		t.Run(v.name, func(t *testing.T) {
			mk, ms := unhex(t, v.masterKey), unhex(t, v.masterSalt)
			for _, c := range []struct {
				what  string
				label byte
				want  []byte
			}{
				{"cipher key", labelRTPKey, unhex(t, v.cipherKey)},
				{"cipher salt", labelRTPSalt, unhex(t, v.cipherSalt)},
				{"auth key", labelRTPAuth, unhex(t, v.authKey)},
			} {
				if got := refKDF(t, mk, ms, c.label, len(c.want)); !bytes.Equal(got, c.want) {
					t.Errorf("%s\n got %x\nwant %x", c.what, got, c.want)
				}
			}
		})
	}
}

// TestRFC3711B3SessionCM builds a Session from the B.3 master key/salt and checks its SRTP
// output byte for byte against the reference transform keyed with the session keys printed
// in B.3, and its SRTCP output against the reference keyed by refKDF (B.3 prints no SRTCP keys).
func TestRFC3711B3SessionCM(t *testing.T) {
	v := kdfVectors[0]
	mk, ms := unhex(t, v.masterKey), unhex(t, v.masterSalt)
	keys := SessionKeys{Profile: ProfileAES128CMHMACSHA1_80, LocalKey: mk, LocalSalt: ms,
		RemoteKey: make([]byte, 16), RemoteSalt: make([]byte, 14)}
	s, err := NewSession(keys, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := NewSession(mirror(keys), 0)
	if err != nil {
		t.Fatal(err)
	}

	for _, seq := range []uint16{0x1234, 0x1235, 0x1300} {
		pkt := rtpPacket(seq, 0xcafebabe, g711Payload)
		got, err := s.EncryptRTP(nil, pkt)
		if err != nil {
			t.Fatal(err)
		}
		want := refProtectRTPCM(t, unhex(t, v.cipherKey), unhex(t, v.cipherSalt), unhex(t, v.authKey), 0, pkt)
		if !bytes.Equal(got, want) {
			t.Fatalf("seq %#x: Session SRTP differs from RFC 3711 reference\n got %x\nwant %x", seq, got, want)
		}
		plain, err := peer.DecryptRTP(nil, want)
		if err != nil || !bytes.Equal(plain, pkt) {
			t.Fatalf("peer could not decrypt reference packet: %v", err)
		}
	}

	rtcpPkt := rtcpPacket(0xcafebabe)
	ck, cs, ca := refKDF(t, mk, ms, labelRTCPKey, 16), refKDF(t, mk, ms, labelRTCPSalt, 14), refKDF(t, mk, ms, labelRTCPAuth, 20)
	for index := uint32(1); index <= 3; index++ { // pion's first SRTCP index is 1
		got, err := s.EncryptRTCP(nil, rtcpPkt)
		if err != nil {
			t.Fatal(err)
		}
		want := refProtectRTCPCM(t, ck, cs, ca, index, rtcpPkt)
		if !bytes.Equal(got, want) {
			t.Fatalf("index %d: Session SRTCP differs from reference\n got %x\nwant %x", index, got, want)
		}
		if plain, err := peer.DecryptRTCP(nil, want); err != nil || !bytes.Equal(plain, rtcpPkt) {
			t.Fatalf("peer could not decrypt reference SRTCP: %v", err)
		}
	}
}

// RFC 7714 §16 (RTP) and §17 (RTCP) vectors, stated in session key and salt.
var gcmVectors = []struct {
	name      string
	profile   Profile
	key, salt string
	rtp       string // plaintext RTP packet, §16.1
	srtp      string // protected packet, §16.1.1 / §16.2.1
	rtcp      string // plaintext RTCP, §17.1
	srtcp     string // protected SRTCP with index 0x5d4, §17.1.1 / §17.2.1
	master    kdfVector
}{
	{
		name: "AEAD_AES_128_GCM", profile: ProfileAEADAES128GCM,
		key: "000102030405060708090a0b0c0d0e0f", salt: "517569642070726f2071756f",
		rtp: `8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
			69736120 696e2070 61727465 73207472 6573`,
		srtp: `8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
			0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`,
		rtcp: `81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
			deadbeef deadbeef deadbeef deadbeef deadbeef`,
		srtcp: `81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
			c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872
			45d9eade 800005d4`,
		master: kdfVectors[0],
	},
	{
		name: "AEAD_AES_256_GCM", profile: ProfileAEADAES256GCM,
		key:  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		salt: "517569642070726f2071756f",
		rtp: `8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
			69736120 696e2070 61727465 73207472 6573`,
		srtp: `8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238
			9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13`,
		rtcp: `81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
			deadbeef deadbeef deadbeef deadbeef deadbeef`,
		srtcp: `81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50
			a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c
			b26ac3be 800005d4`,
		master: kdfVectors[1],
	},
}

// TestRFC7714Reference pins the reference GCM transforms to RFC 7714 §16/§17.
func TestRFC7714Reference(t *testing.T) {
	for _, v := range gcmVectors {
		t.Run(v.name, func(t *testing.T) {
			key, salt := unhex(t, v.key), unhex(t, v.salt)
			if got, want := refProtectRTPGCM(t, key, salt, 0, unhex(t, v.rtp), 12), unhex(t, v.srtp); !bytes.Equal(got, want) {
				t.Errorf("RTP\n got %x\nwant %x", got, want)
			}
			if got, want := refProtectRTCPGCM(t, key, salt, 0x5d4, unhex(t, v.rtcp)), unhex(t, v.srtcp); !bytes.Equal(got, want) {
				t.Errorf("RTCP\n got %x\nwant %x", got, want)
			}
		})
	}
}

// TestRFC7714Session sends the RFC 7714 plaintext packets through a Session keyed with an
// RFC master key/salt and checks the output against the (RFC-pinned) reference fed with the
// (RFC-pinned) reference KDF's session keys, then has the peer Session decrypt it.
func TestRFC7714Session(t *testing.T) {
	for _, v := range gcmVectors {
		t.Run(v.name, func(t *testing.T) {
			mk := unhex(t, v.master.masterKey)
			ms := unhex(t, v.master.masterSalt)[:12] // AEAD master salt is 96 bits (RFC 7714 §14.2)
			keys := SessionKeys{Profile: v.profile, LocalKey: mk, LocalSalt: ms,
				RemoteKey: make([]byte, len(mk)), RemoteSalt: make([]byte, 12)}
			s, err := NewSession(keys, 0)
			if err != nil {
				t.Fatal(err)
			}
			peer, err := NewSession(mirror(keys), 0)
			if err != nil {
				t.Fatal(err)
			}

			rtpPkt := unhex(t, v.rtp)
			got, err := s.EncryptRTP(nil, rtpPkt)
			if err != nil {
				t.Fatal(err)
			}
			sk, ss := refKDF(t, mk, ms, labelRTPKey, len(mk)), refKDF(t, mk, ms, labelRTPSalt, 12)
			if want := refProtectRTPGCM(t, sk, ss, 0, rtpPkt, 12); !bytes.Equal(got, want) {
				t.Fatalf("Session SRTP differs from RFC 7714 reference\n got %x\nwant %x", got, want)
			}
			if plain, err := peer.DecryptRTP(nil, got); err != nil || !bytes.Equal(plain, rtpPkt) {
				t.Fatalf("peer DecryptRTP: %v", err)
			}

			// Start SRTCP where §17 does: the next index is 0x5d4.
			rtcpPkt := unhex(t, v.rtcp)
			s.encRTCP.ctx.SetIndex(binary.BigEndian.Uint32(rtcpPkt[4:]), 0x5d3)
			got, err = s.EncryptRTCP(nil, rtcpPkt)
			if err != nil {
				t.Fatal(err)
			}
			ck, cs := refKDF(t, mk, ms, labelRTCPKey, len(mk)), refKDF(t, mk, ms, labelRTCPSalt, 12)
			if want := refProtectRTCPGCM(t, ck, cs, 0x5d4, rtcpPkt); !bytes.Equal(got, want) {
				t.Fatalf("Session SRTCP differs from RFC 7714 reference\n got %x\nwant %x", got, want)
			}
			if plain, err := peer.DecryptRTCP(nil, got); err != nil || !bytes.Equal(plain, rtcpPkt) {
				t.Fatalf("peer DecryptRTCP: %v", err)
			}
		})
	}
}
