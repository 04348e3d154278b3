package crypto

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Fingerprint is an SDP a=fingerprint value (RFC 8122 §5): a hash function name and the
// digest of a DER certificate. Fingerprints identify certificates; they are not secret.
type Fingerprint struct {
	Hash  string // lower case: "sha-256", "sha-384" or "sha-512"
	Value []byte
}

// maxFingerprintAttr bounds the input: "sha-512 " plus 64 hex pairs with colons is 199 bytes.
const maxFingerprintAttr = 256

// fingerprintHash describes an accepted hash function; rank orders them by strength.
type fingerprintHash struct {
	size int
	rank int
	new  func() hash.Hash
}

// acceptedHashes are the RFC 8122 hash functions the policy accepts (security requirement
// T4). The Hash Function Textual Names registry spells them in lower case.
var acceptedHashes = map[string]fingerprintHash{
	"sha-256": {sha256.Size, 1, sha256.New},
	"sha-384": {sha512.Size384, 2, sha512.New384},
	"sha-512": {sha512.Size, 3, sha512.New},
}

// weakHashes are registered names refused as too weak: md2/md5 and sha-1 are broken for
// collision resistance, and sha-224 is below the policy floor. RFC 8122 §5 already requires
// sha-256 support from every endpoint, so refusing them costs no interop with a current peer.
var weakHashes = map[string]bool{"md2": true, "md5": true, "sha-1": true, "sha-224": true}

// ParseFingerprint parses the value of an a=fingerprint attribute, "sha-256 AB:CD:...".
// The hash name is matched case-insensitively and hex digits may be either case, but the
// grammar is otherwise strict: exactly one run of whitespace between the two parts, two hex
// digits per octet separated by single colons, and exactly the digest length of the hash.
// md5/sha-1/sha-224 are refused with ErrWeakFingerprint, everything else that does not fit
// with ErrMalformedFingerprint.
func ParseFingerprint(attr string) (Fingerprint, error) {
	if len(attr) > maxFingerprintAttr {
		return Fingerprint{}, fmt.Errorf("%w: %d bytes is longer than any supported fingerprint",
			ErrMalformedFingerprint, len(attr))
	}
	fields := strings.Fields(attr)
	if len(fields) != 2 {
		return Fingerprint{}, fmt.Errorf("%w: want \"<hash> <hex>\", got %d fields", ErrMalformedFingerprint, len(fields))
	}
	name := strings.ToLower(fields[0])
	h, err := lookupHash(name)
	if err != nil {
		return Fingerprint{}, err
	}
	value, err := parseColonHex(fields[1], h.size)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("%w: %s value: %w", ErrMalformedFingerprint, name, err)
	}
	return Fingerprint{Hash: name, Value: value}, nil
}

func lookupHash(name string) (fingerprintHash, error) {
	if h, ok := acceptedHashes[name]; ok {
		return h, nil
	}
	if weakHashes[name] {
		return fingerprintHash{}, fmt.Errorf("%w: %s (accepted: sha-256, sha-384, sha-512)", ErrWeakFingerprint, name)
	}
	return fingerprintHash{}, fmt.Errorf("%w: unsupported hash function %s", ErrMalformedFingerprint, safeQuote(name, 16))
}

var errHexFormat = errors.New("want colon-separated pairs of hex digits")

// parseColonHex decodes "AB:CD:..." into exactly want bytes (RFC 8122 §5: 2UHEX *(":" 2UHEX)).
func parseColonHex(s string, want int) ([]byte, error) {
	if len(s) != 3*want-1 {
		return nil, fmt.Errorf("%w: %d characters for a %d-byte digest", errHexFormat, len(s), want)
	}
	out := make([]byte, want)
	for i := range out {
		hi, ok1 := unhexDigit(s[3*i])
		lo, ok2 := unhexDigit(s[3*i+1])
		if !ok1 || !ok2 || (i+1 < want && s[3*i+2] != ':') {
			return nil, errHexFormat
		}
		out[i] = hi<<4 | lo
	}
	return out, nil
}

func unhexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ParseFingerprints parses several a=fingerprint values (RFC 8122 §5 allows one per hash
// function). Weak-hash entries are dropped when at least one accepted fingerprint remains,
// because §5 has the verifier use the strongest hash anyway; if only weak ones were offered
// the result is ErrWeakFingerprint. Any malformed entry fails the whole set.
func ParseFingerprints(attrs []string) ([]Fingerprint, error) {
	var out []Fingerprint
	var weak error
	for _, a := range attrs {
		f, err := ParseFingerprint(a)
		switch {
		case errors.Is(err, ErrWeakFingerprint):
			weak = err
		case err != nil:
			return nil, err
		default:
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		if weak != nil {
			return nil, weak
		}
		return nil, fmt.Errorf("%w: no fingerprint offered", ErrMalformedFingerprint)
	}
	return out, nil
}

// FingerprintOf computes the fingerprint of a DER certificate with the named hash
// (sha-256, sha-384 or sha-512). We offer sha-256 (DESIGN §4).
func FingerprintOf(certDER []byte, hashName string) (Fingerprint, error) {
	name := strings.ToLower(hashName)
	h, err := lookupHash(name)
	if err != nil {
		return Fingerprint{}, err
	}
	if len(certDER) == 0 {
		return Fingerprint{}, errors.New("crypto: empty certificate")
	}
	d := h.new()
	d.Write(certDER)
	return Fingerprint{Hash: name, Value: d.Sum(nil)}, nil
}

// String returns the SDP form, "sha-256 AB:CD:..." with upper-case hex (RFC 8122 §5), or ""
// for the zero Fingerprint.
func (f Fingerprint) String() string {
	if f.Hash == "" {
		return ""
	}
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(f.Hash) + 1 + 3*len(f.Value))
	b.WriteString(f.Hash)
	b.WriteByte(' ')
	for i, v := range f.Value {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteByte(digits[v>>4])
		b.WriteByte(digits[v&0x0f])
	}
	return b.String()
}

// Matches reports whether certDER hashes to f. The digest comparison is constant-time so a
// probing peer learns nothing from timing. A fingerprint with a refused hash never matches.
func (f Fingerprint) Matches(certDER []byte) bool {
	h, ok := acceptedHashes[f.Hash]
	if !ok || len(certDER) == 0 || len(f.Value) != h.size {
		return false
	}
	d := h.new()
	d.Write(certDER)
	return subtle.ConstantTimeCompare(d.Sum(nil), f.Value) == 1
}

// StrongestFingerprints returns the offered fingerprints that use the strongest accepted
// hash function among them (RFC 8122 §5), or nil if none uses an accepted hash.
func StrongestFingerprints(offered []Fingerprint) []Fingerprint {
	best := 0
	for _, f := range offered {
		if h, ok := acceptedHashes[f.Hash]; ok && h.rank > best {
			best = h.rank
		}
	}
	var out []Fingerprint
	for _, f := range offered {
		if h, ok := acceptedHashes[f.Hash]; ok && h.rank == best {
			out = append(out, f)
		}
	}
	return out
}

// VerifyFingerprint checks the peer's end-entity certificate against the SDP fingerprints:
// it must match one of the fingerprints that use the strongest hash offered (RFC 8122 §5).
// A weaker-hash match does not count. Returns ErrFingerprintMismatch otherwise.
func VerifyFingerprint(certDER []byte, offered []Fingerprint) error {
	strongest := StrongestFingerprints(offered)
	if len(strongest) == 0 {
		return fmt.Errorf("%w: no acceptable fingerprint offered", ErrFingerprintMismatch)
	}
	matched := 0
	for _, f := range strongest {
		if f.Matches(certDER) { // check all, so timing does not reveal which one matched
			matched++
		}
	}
	if matched == 0 {
		return ErrFingerprintMismatch
	}
	return nil
}
