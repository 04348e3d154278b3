package crypto

import (
	"fmt"
)

// SessionKeys are the SRTP master keys and salts of one DTLS-SRTP association
// (RFC 5764 §4.2). Local = what we encrypt with; Remote = what we decrypt with.
//
// The type never prints its bytes: String, GoString and every fmt verb give a redacted
// summary (security requirement A10/L2), so a stray log line or %+v cannot leak a key.
// Call Wipe when the keys are no longer needed.
type SessionKeys struct {
	Profile    Profile
	LocalKey   []byte
	LocalSalt  []byte
	RemoteKey  []byte
	RemoteSalt []byte
}

const redacted = "[REDACTED]"

// String returns a redacted summary naming only the profile.
func (k SessionKeys) String() string {
	return "SessionKeys{Profile: " + k.Profile.String() + ", keys: " + redacted + "}"
}

// GoString keeps %#v redacted too.
func (k SessionKeys) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb (%x and %q included, which would
// otherwise walk the struct's byte slices) prints the redacted summary.
func (k SessionKeys) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte(k.String()))
}

// Wipe overwrites the key and salt bytes with zeros and drops the slices. Go cannot promise
// no other copy exists (pion derives session keys from these), but it bounds the lifetime
// of the master keys we hold.
func (k *SessionKeys) Wipe() {
	for _, b := range [][]byte{k.LocalKey, k.LocalSalt, k.RemoteKey, k.RemoteSalt} {
		clear(b)
	}
	k.LocalKey, k.LocalSalt, k.RemoteKey, k.RemoteSalt = nil, nil, nil, nil
}

// Validate checks the profile is allowed and every key and salt has its length
// (RFC 5764 §4.1.2, RFC 7714 §14.2). The error names lengths, never bytes.
func (k SessionKeys) Validate() error {
	if !k.Profile.Allowed() {
		return fmt.Errorf("%w: %s", ErrProfileNotAllowed, k.Profile)
	}
	kl, sl := k.Profile.KeyLen(), k.Profile.SaltLen()
	for _, c := range []struct {
		name string
		got  int
		want int
	}{
		{"local key", len(k.LocalKey), kl},
		{"local salt", len(k.LocalSalt), sl},
		{"remote key", len(k.RemoteKey), kl},
		{"remote salt", len(k.RemoteSalt), sl},
	} {
		if c.got != c.want {
			return fmt.Errorf("crypto: %s for %s is %d bytes, want %d", c.name, k.Profile, c.got, c.want)
		}
	}
	return nil
}

// splitExported splits RFC 5764 §4.2 keying material
// (client_write_key | server_write_key | client_write_salt | server_write_salt) into
// SessionKeys for our role. The slices are copies; the caller wipes material.
func splitExported(p Profile, material []byte, isClient bool) (SessionKeys, error) {
	kl, sl := p.KeyLen(), p.SaltLen()
	if kl == 0 || len(material) != 2*(kl+sl) {
		return SessionKeys{}, fmt.Errorf("%w: keying material of %d bytes for %s", ErrPolicy, len(material), p)
	}
	clone := func(b []byte) []byte { return append([]byte(nil), b...) }
	clientKey := clone(material[0:kl])
	serverKey := clone(material[kl : 2*kl])
	clientSalt := clone(material[2*kl : 2*kl+sl])
	serverSalt := clone(material[2*kl+sl : 2*kl+2*sl])
	if isClient {
		return SessionKeys{Profile: p, LocalKey: clientKey, LocalSalt: clientSalt,
			RemoteKey: serverKey, RemoteSalt: serverSalt}, nil
	}
	return SessionKeys{Profile: p, LocalKey: serverKey, LocalSalt: serverSalt,
		RemoteKey: clientKey, RemoteSalt: clientSalt}, nil
}
