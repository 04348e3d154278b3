package crypto

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// A sha-256 fingerprint as Chrome writes it.
const chromeFP = "sha-256 3A:96:6D:57:B2:C2:C7:61:A0:46:3E:1C:97:39:D9:F7:0A:C6:F7:0F:1F:A2:7D:77:B8:69:C7:2E:86:41:8D:4D"

func TestParseFingerprint(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error // nil: must parse
		hash    string
	}{
		{"chrome sha-256", chromeFP, nil, "sha-256"},
		{"lower-case hex", strings.ToLower(chromeFP), nil, "sha-256"},
		{"upper-case hash name", "SHA-256" + chromeFP[7:], nil, "sha-256"},
		{"surrounding and inner whitespace", "  sha-256 \t " + chromeFP[8:] + " \r\n", nil, "sha-256"},
		{"sha-384", "sha-384 " + strings.TrimSuffix(strings.Repeat("AB:", 48), ":"), nil, "sha-384"},
		{"sha-512", "sha-512 " + strings.TrimSuffix(strings.Repeat("0f:", 64), ":"), nil, "sha-512"},

		{"md5 refused", "md5 " + strings.TrimSuffix(strings.Repeat("AB:", 16), ":"), ErrWeakFingerprint, ""},
		{"sha-1 refused", "sha-1 " + strings.TrimSuffix(strings.Repeat("AB:", 20), ":"), ErrWeakFingerprint, ""},
		{"SHA-1 upper refused", "SHA-1 " + strings.TrimSuffix(strings.Repeat("AB:", 20), ":"), ErrWeakFingerprint, ""},
		{"sha-224 refused", "sha-224 " + strings.TrimSuffix(strings.Repeat("AB:", 28), ":"), ErrWeakFingerprint, ""},
		{"md2 refused", "md2 " + strings.TrimSuffix(strings.Repeat("AB:", 16), ":"), ErrWeakFingerprint, ""},

		{"unknown hash", "sha3-256 " + chromeFP[8:], ErrMalformedFingerprint, ""},
		{"empty", "", ErrMalformedFingerprint, ""},
		{"hash only", "sha-256", ErrMalformedFingerprint, ""},
		{"three fields", chromeFP + " extra", ErrMalformedFingerprint, ""},
		{"too short", chromeFP[:len(chromeFP)-3], ErrMalformedFingerprint, ""},
		{"too long", chromeFP + ":00", ErrMalformedFingerprint, ""},
		{"sha-256 with sha-1 length", "sha-256 " + strings.TrimSuffix(strings.Repeat("AB:", 20), ":"), ErrMalformedFingerprint, ""},
		{"no colons", "sha-256 " + strings.Repeat("AB", 32) + strings.Repeat("0", 31), ErrMalformedFingerprint, ""},
		{"dash separators", "sha-256 " + strings.ReplaceAll(chromeFP[8:], ":", "-"), ErrMalformedFingerprint, ""},
		{"non-hex digit", strings.Replace(chromeFP, "3A", "3G", 1), ErrMalformedFingerprint, ""},
		{"single-digit octet", strings.Replace(chromeFP, "3A:", "3:A", 1), ErrMalformedFingerprint, ""},
		{"huge input", "sha-256 " + strings.Repeat("AB:", 10000), ErrMalformedFingerprint, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFingerprint(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if len(err.Error()) > 200 {
					t.Fatalf("error message unbounded (%d bytes)", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Hash != tc.hash || len(f.Value) != acceptedHashes[tc.hash].size {
				t.Fatalf("got %q with %d bytes", f.Hash, len(f.Value))
			}
		})
	}
}

func TestFingerprintRoundTrip(t *testing.T) {
	cert := mustCert(t)
	for _, h := range []string{"sha-256", "sha-384", "sha-512", "SHA-256"} {
		t.Run(h, func(t *testing.T) {
			f, err := FingerprintOf(cert.DER(), h)
			if err != nil {
				t.Fatal(err)
			}
			s := f.String()
			if s != strings.ToLower(s[:7])+s[7:] || strings.ToUpper(s[8:]) != s[8:] {
				t.Fatalf("String %q: want lower-case hash, upper-case hex", s)
			}
			back, err := ParseFingerprint(s)
			if err != nil {
				t.Fatal(err)
			}
			if back.Hash != f.Hash || !bytes.Equal(back.Value, f.Value) || back.String() != s {
				t.Fatal("round trip changed the fingerprint")
			}
			if !back.Matches(cert.DER()) {
				t.Fatal("parsed fingerprint does not match its certificate")
			}
			if back.Matches(mustCert(t).DER()) {
				t.Fatal("fingerprint matches another certificate")
			}
		})
	}
	sum := sha256.Sum256(cert.DER())
	if !bytes.Equal(cert.Fingerprint().Value, sum[:]) || cert.Fingerprint().Hash != "sha-256" {
		t.Fatal("Certificate.Fingerprint is not the sha-256 of its DER")
	}
	if _, err := FingerprintOf(cert.DER(), "sha-1"); !errors.Is(err, ErrWeakFingerprint) {
		t.Fatalf("FingerprintOf sha-1: %v", err)
	}
	if _, err := FingerprintOf(nil, "sha-256"); err == nil {
		t.Fatal("FingerprintOf(nil) succeeded")
	}
	if (Fingerprint{}).String() != "" {
		t.Fatal("zero Fingerprint String not empty")
	}
}

func TestFingerprintMatchesEdgeCases(t *testing.T) {
	cert := mustCert(t)
	good := cert.Fingerprint()
	tests := []struct {
		name string
		f    Fingerprint
		der  []byte
		want bool
	}{
		{"good", good, cert.DER(), true},
		{"nil cert", good, nil, false},
		{"weak hash name", Fingerprint{Hash: "sha-1", Value: good.Value[:20]}, cert.DER(), false},
		{"truncated value", Fingerprint{Hash: "sha-256", Value: good.Value[:31]}, cert.DER(), false},
		{"one bit off", Fingerprint{Hash: "sha-256", Value: flipBit(good.Value)}, cert.DER(), false},
		{"upper-case hash name not normalised", Fingerprint{Hash: "SHA-256", Value: good.Value}, cert.DER(), false},
	}
	for _, tc := range tests {
		if got := tc.f.Matches(tc.der); got != tc.want {
			t.Errorf("%s: Matches = %v", tc.name, got)
		}
	}
}

func flipBit(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)/2] ^= 0x10
	return c
}

func TestStrongestAndVerify(t *testing.T) {
	cert := mustCert(t)
	f256 := cert.Fingerprint()
	f384, _ := FingerprintOf(cert.DER(), "sha-384")
	f512, _ := FingerprintOf(cert.DER(), "sha-512")
	bad512 := Fingerprint{Hash: "sha-512", Value: flipBit(f512.Value)}
	weak := Fingerprint{Hash: "sha-1", Value: make([]byte, 20)}
	tests := []struct {
		name      string
		offered   []Fingerprint
		strongest string
		ok        bool
	}{
		{"single", []Fingerprint{f256}, "sha-256", true},
		{"256+384 picks 384", []Fingerprint{f256, f384}, "sha-384", true},
		{"wrong 512 beats right 256", []Fingerprint{f256, bad512}, "sha-512", false},
		{"two 512 one right", []Fingerprint{bad512, f512}, "sha-512", true},
		{"weak ignored", []Fingerprint{weak, f256}, "sha-256", true},
		{"only weak", []Fingerprint{weak}, "", false},
		{"none", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := StrongestFingerprints(tc.offered)
			for _, f := range s {
				if f.Hash != tc.strongest {
					t.Fatalf("strongest set has %s, want only %s", f.Hash, tc.strongest)
				}
			}
			if tc.strongest == "" && len(s) != 0 {
				t.Fatalf("strongest of weak/empty = %v", s)
			}
			err := VerifyFingerprint(cert.DER(), tc.offered)
			if tc.ok != (err == nil) {
				t.Fatalf("VerifyFingerprint err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrFingerprintMismatch) {
				t.Fatalf("error %v is not ErrFingerprintMismatch", err)
			}
		})
	}
}

func TestParseFingerprints(t *testing.T) {
	sha1 := "sha-1 " + strings.TrimSuffix(strings.Repeat("AB:", 20), ":")
	tests := []struct {
		name    string
		in      []string
		n       int
		wantErr error
	}{
		{"one good", []string{chromeFP}, 1, nil},
		{"weak dropped beside strong", []string{sha1, chromeFP}, 1, nil},
		{"only weak", []string{sha1}, 0, ErrWeakFingerprint},
		{"malformed fails the set", []string{chromeFP, "sha-256 zz"}, 0, ErrMalformedFingerprint},
		{"none", nil, 0, ErrMalformedFingerprint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFingerprints(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.n {
				t.Fatalf("got %d, err %v", len(got), err)
			}
		})
	}
}

// FuzzParseFingerprint: never panics, errors are always one of the two sentinels, and
// anything accepted re-serialises to a string that parses to the same value (seed corpus in
// testdata/fuzz/FuzzParseFingerprint).
func FuzzParseFingerprint(f *testing.F) {
	f.Add(chromeFP)
	f.Add("sha-1 AB:CD")
	f.Add("sha-512 " + strings.TrimSuffix(strings.Repeat("ff:", 64), ":"))
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedFingerprint) && !errors.Is(err, ErrWeakFingerprint) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		h, ok := acceptedHashes[fp.Hash]
		if !ok || len(fp.Value) != h.size {
			t.Fatalf("accepted %q as %q with %d bytes", s, fp.Hash, len(fp.Value))
		}
		back, err := ParseFingerprint(fp.String())
		if err != nil || back.Hash != fp.Hash || !bytes.Equal(back.Value, fp.Value) {
			t.Fatalf("re-parse of %q failed: %v", fp.String(), err)
		}
	})
}
