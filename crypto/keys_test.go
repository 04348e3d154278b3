package crypto

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestSessionKeysRedacted(t *testing.T) {
	k := testKeys(ProfileAEADAES128GCM, 0x5a)
	wrapped := struct{ K SessionKeys }{k}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%10.3v"} {
		for _, v := range []any{k, &k, wrapped, &wrapped} {
			s := fmt.Sprintf(format, v)
			for _, secret := range [][]byte{k.LocalKey, k.LocalSalt, k.RemoteKey, k.RemoteSalt} {
				if strings.Contains(strings.ToLower(s), fmt.Sprintf("%x", secret[:4])) ||
					strings.Contains(s, fmt.Sprint(secret[:4])[1:8]) {
					t.Fatalf("%s of %T leaks key bytes: %s", format, v, s)
				}
			}
			if !strings.Contains(s, redacted) {
				t.Fatalf("%s of %T has no redaction marker: %s", format, v, s)
			}
		}
	}
	if k.String() != k.GoString() || !strings.Contains(k.String(), "AEAD_AES_128_GCM") {
		t.Fatalf("String = %q", k.String())
	}
}

func TestSessionKeysWipe(t *testing.T) {
	k := testKeys(ProfileAES128CMHMACSHA1_80, 1)
	backing := [][]byte{k.LocalKey, k.LocalSalt, k.RemoteKey, k.RemoteSalt}
	k.Wipe()
	for i, b := range backing {
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatalf("slice %d not zeroed", i)
		}
	}
	if k.LocalKey != nil || k.RemoteSalt != nil {
		t.Fatal("Wipe left slices attached")
	}
	if err := k.Validate(); err == nil {
		t.Fatal("wiped keys still validate")
	}
	var zero SessionKeys
	zero.Wipe() // must not panic on nil slices
}

func TestSplitExported(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			kl, sl := pc.p.KeyLen(), pc.p.SaltLen()
			m := make([]byte, 2*(kl+sl))
			for i := range m {
				m[i] = byte(i)
			}
			// RFC 5764 §4.2 layout: client key, server key, client salt, server salt.
			ck, sk := m[:kl], m[kl:2*kl]
			cs, ss := m[2*kl:2*kl+sl], m[2*kl+sl:]
			client, err := splitExported(pc.p, m, true)
			if err != nil {
				t.Fatal(err)
			}
			server, err := splitExported(pc.p, m, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(client.LocalKey, ck) || !bytes.Equal(client.LocalSalt, cs) ||
				!bytes.Equal(client.RemoteKey, sk) || !bytes.Equal(client.RemoteSalt, ss) {
				t.Fatal("client split wrong")
			}
			if !bytes.Equal(server.LocalKey, sk) || !bytes.Equal(server.LocalSalt, ss) ||
				!bytes.Equal(server.RemoteKey, ck) || !bytes.Equal(server.RemoteSalt, cs) {
				t.Fatal("server split wrong")
			}
			if err := client.Validate(); err != nil {
				t.Fatal(err)
			}
			clear(m) // the split must be copies, unaffected by wiping the material
			if client.LocalKey[1] != 1 {
				t.Fatal("split aliases the keying material")
			}
			if _, err := splitExported(pc.p, m[:len(m)-1], true); err == nil {
				t.Fatal("short material accepted")
			}
		})
	}
}
