package statickeys

import (
	"bytes"
	"testing"

	"github.com/srtpgw/srtpgw/crypto"
)

// The two directions and two calls never share keys, lengths follow the
// profile, and the derivation is deterministic (both sides must agree).
func TestDerive(t *testing.T) {
	for _, p := range []crypto.Profile{crypto.ProfileAES128CMHMACSHA1_80, crypto.ProfileAEADAES128GCM} {
		to, from, err := Derive("call-1", p)
		if err != nil {
			t.Fatal(err)
		}
		if len(to.Key) != p.KeyLen() || len(to.Salt) != p.SaltLen() || len(from.Key) != p.KeyLen() {
			t.Fatalf("%v: lengths %d/%d, want %d/%d", p, len(to.Key), len(to.Salt), p.KeyLen(), p.SaltLen())
		}
		if bytes.Equal(to.Key, from.Key) {
			t.Fatalf("%v: both directions have the same key", p)
		}
		to2, _, _ := Derive("call-1", p)
		other, _, _ := Derive("call-2", p)
		if !bytes.Equal(to.Key, to2.Key) || !bytes.Equal(to.Salt, to2.Salt) {
			t.Fatalf("%v: not deterministic", p)
		}
		if bytes.Equal(to.Key, other.Key) {
			t.Fatalf("%v: two calls share a key", p)
		}
	}
	if _, _, err := Derive("x", crypto.Profile(0x9999)); err == nil {
		t.Fatal("an unknown profile was accepted")
	}
}
