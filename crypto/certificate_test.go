package crypto

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source for CertStore.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestGenerateCertificate(t *testing.T) {
	c, err := GenerateCertificate(30 * 24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.DER())
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("public key %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Fatalf("signature %v", leaf.SignatureAlgorithm)
	}
	// Self-signed (not a CA, so CheckSignatureFrom does not apply): the key signed the TBS.
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if !c.NotAfter().Equal(leaf.NotAfter) || time.Until(c.NotAfter()) < 29*24*time.Hour {
		t.Fatalf("NotAfter %v", c.NotAfter())
	}
	if !c.Fingerprint().Matches(c.DER()) {
		t.Fatal("fingerprint does not match own DER")
	}
	if _, err := GenerateCertificate(0); err == nil {
		t.Fatal("zero validity accepted")
	}
	other, _ := GenerateCertificate(time.Hour)
	if other.Fingerprint().String() == c.Fingerprint().String() || leaf.SerialNumber.Sign() <= 0 {
		t.Fatal("certificates not unique or serial not positive")
	}
}

func TestCertificateRedacted(t *testing.T) {
	c := mustCert(t)
	key := c.TLSCertificate().PrivateKey.(*ecdsa.PrivateKey)
	raw, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	d := fmt.Sprintf("%x", raw)
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		for _, v := range []any{c, *c, struct{ C *Certificate }{c}} {
			s := fmt.Sprintf(format, v)
			if strings.Contains(strings.ToLower(s), d) || strings.Contains(s, new(big.Int).SetBytes(raw).String()) {
				t.Fatalf("%s of %T leaks the private key", format, v)
			}
		}
	}
	if !strings.Contains(c.String(), c.Fingerprint().String()) {
		t.Fatalf("String lacks the fingerprint: %s", c)
	}
}

func TestNewCertificate(t *testing.T) {
	c := mustCert(t)
	tc := c.TLSCertificate()
	tc.Leaf = nil
	w, err := NewCertificate(tc)
	if err != nil {
		t.Fatal(err)
	}
	if w.Fingerprint().String() != c.Fingerprint().String() || !w.NotAfter().Equal(c.NotAfter()) {
		t.Fatal("wrapped certificate differs")
	}
	tc.PrivateKey = nil
	if _, err := NewCertificate(tc); err == nil {
		t.Fatal("certificate without key accepted")
	}
}

func TestCertStoreRotation(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	const validity, rotate = 30 * 24 * time.Hour, 7 * 24 * time.Hour
	s, err := NewCertStore(validity, rotate, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	first := s.Current()
	if first.NotAfter() != clock.now().Add(validity) {
		t.Fatalf("NotAfter follows the fake clock? got %v", first.NotAfter())
	}
	fpFirst := first.Fingerprint().String()
	derFirst := append([]byte(nil), first.DER()...)

	clock.advance(rotate - time.Second)
	if s.Current() != first || s.Rotations() != 0 {
		t.Fatal("rotated before rotateEvery")
	}

	clock.advance(time.Second)
	second := s.Current()
	if second == first || s.Rotations() != 1 {
		t.Fatal("did not rotate at rotateEvery")
	}
	if s.Current() != second {
		t.Fatal("rotated twice for one period")
	}
	// The certificate a live call holds is untouched by rotation and still usable.
	if first.Fingerprint().String() != fpFirst || string(first.DER()) != string(derFirst) {
		t.Fatal("rotation mutated a certificate already handed out")
	}
	if !first.NotAfter().After(clock.now().Add(validity - rotate - time.Second)) {
		t.Fatal("old certificate lost its remaining validity")
	}
	// ...and still completes a DTLS handshake after rotation (real clock: the fake one is in 2030).
	realStore, err := NewCertStore(time.Hour, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	held := realStore.Current()
	l := newLink()
	a, b := endpointPair(t, l, side{role: RoleClient, cert: held}, side{role: RoleServer})
	out := runHandshakes(context.Background(), a, b)
	if out[0].err != nil || out[1].err != nil {
		t.Fatalf("old certificate unusable: %v / %v", out[0].err, out[1].err)
	}
	if out[1].res.PeerFingerprint.String() != held.Fingerprint().String() {
		t.Fatal("server saw a different certificate than the one the call held")
	}

	clock.advance(3 * rotate)
	if s.Current() == second || s.Rotations() != 2 {
		t.Fatalf("a long gap should rotate once, got %d rotations", s.Rotations())
	}
}

func TestNewCertStoreValidation(t *testing.T) {
	tests := []struct {
		name             string
		validity, rotate time.Duration
		ok               bool
	}{
		{"half", 2 * time.Hour, time.Hour, true},
		{"rotate too late", time.Hour, 31 * time.Minute, false},
		{"zero rotate", time.Hour, 0, false},
		{"zero validity", 0, time.Minute, false},
	}
	for _, tc := range tests {
		if _, err := NewCertStore(tc.validity, tc.rotate, nil); tc.ok != (err == nil) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

func TestCertStoreConcurrent(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	s, err := NewCertStore(time.Hour, time.Minute, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if s.Current() == nil {
					t.Error("nil certificate")
				}
				clock.advance(10 * time.Second)
			}
		}()
	}
	wg.Wait()
	if r := s.Rotations(); r < 1 || r > 27 {
		t.Fatalf("%d rotations for 1600 s of fake time at one per minute", r)
	}
}
