package crypto

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// profileCases names every allowed profile the way benchmarks and subtests spell them.
var profileCases = []struct {
	name string
	p    Profile
}{
	{"gcm128", ProfileAEADAES128GCM},
	{"gcm256", ProfileAEADAES256GCM},
	{"cm80", ProfileAES128CMHMACSHA1_80},
}

// testKeys returns deterministic, distinct keys for p; seed varies them between tests.
func testKeys(p Profile, seed byte) SessionKeys {
	fill := func(n int, base byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = base + byte(i)*7 + seed
		}
		return b
	}
	return SessionKeys{
		Profile:    p,
		LocalKey:   fill(p.KeyLen(), 0x11),
		LocalSalt:  fill(p.SaltLen(), 0x51),
		RemoteKey:  fill(p.KeyLen(), 0x93),
		RemoteSalt: fill(p.SaltLen(), 0xc7),
	}
}

// mirror returns the peer's view of k: our Local is their Remote (RFC 5764 §4.2).
func mirror(k SessionKeys) SessionKeys {
	return SessionKeys{Profile: k.Profile, LocalKey: k.RemoteKey, LocalSalt: k.RemoteSalt,
		RemoteKey: k.LocalKey, RemoteSalt: k.LocalSalt}
}

// sessionPair returns two Sessions keyed as the two ends of one association.
func sessionPair(t testing.TB, p Profile) (a, b *Session) {
	t.Helper()
	k := testKeys(p, 0)
	a, err := NewSession(k, 0)
	if err != nil {
		t.Fatalf("NewSession a: %v", err)
	}
	b, err = NewSession(mirror(k), 0)
	if err != nil {
		t.Fatalf("NewSession b: %v", err)
	}
	return a, b
}

// rtpPacket builds a version-2 RTP packet: 12-byte header plus payloadLen bytes (G.711
// packets are 12+160).
func rtpPacket(seq uint16, ssrc uint32, payloadLen int) []byte {
	p := make([]byte, 12+payloadLen)
	p[0] = 0x80
	p[1] = 0 // PCMU
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	for i := 12; i < len(p); i++ {
		p[i] = byte(i * 13)
	}
	return p
}

// rtcpPacket builds a minimal sender report (RFC 3550 §6.4.1) with no report blocks.
func rtcpPacket(ssrc uint32) []byte {
	p := make([]byte, 28)
	p[0] = 0x80
	p[1] = 200
	binary.BigEndian.PutUint16(p[2:], 6)
	binary.BigEndian.PutUint32(p[4:], ssrc)
	for i := 8; i < len(p); i++ {
		p[i] = byte(i)
	}
	return p
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}
