package crypto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Certificate is a DTLS identity: a self-signed ECDSA P-256 certificate with its key, the
// sha-256 fingerprint we put in SDP (DESIGN §4), and its expiry.
//
// Printing a Certificate with any fmt verb shows the fingerprint and expiry only, never the
// private key (security requirement A10).
type Certificate struct {
	tls         tls.Certificate
	fingerprint Fingerprint
	notAfter    time.Time
}

// certBackdate tolerates peers whose clock runs behind ours. Peers in DTLS-SRTP identify us
// by fingerprint, not by validity, but some still check NotBefore.
const certBackdate = time.Hour

// GenerateCertificate creates a self-signed ECDSA P-256 certificate valid from now (less an
// hour of clock-skew slack) for validity.
func GenerateCertificate(validity time.Duration) (*Certificate, error) {
	return generateCertificateAt(time.Now(), validity)
}

func generateCertificateAt(now time.Time, validity time.Duration) (*Certificate, error) {
	if validity <= 0 {
		return nil, errors.New("crypto: certificate validity must be positive")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("crypto: generating P-256 key: %w", err)
	}
	// RFC 5280 §4.1.2.2: a positive serial of up to 20 octets; 128 random bits.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("crypto: certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: "srtpgw"},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("crypto: self-signing certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("crypto: parsing own certificate: %w", err)
	}
	fp, err := FingerprintOf(der, "sha-256")
	if err != nil {
		return nil, err
	}
	return &Certificate{
		tls:         tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		fingerprint: fp,
		notAfter:    leaf.NotAfter,
	}, nil
}

// NewCertificate wraps an existing certificate and key (for example one loaded from disk or
// a test peer's). The key must be ECDSA or RSA, as the policy's cipher suites require.
func NewCertificate(c tls.Certificate) (*Certificate, error) {
	if len(c.Certificate) == 0 || c.PrivateKey == nil {
		return nil, errors.New("crypto: certificate and private key required")
	}
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("crypto: parsing certificate: %w", err)
		}
		c.Leaf = leaf
	}
	fp, err := FingerprintOf(c.Certificate[0], "sha-256")
	if err != nil {
		return nil, err
	}
	return &Certificate{tls: c, fingerprint: fp, notAfter: leaf.NotAfter}, nil
}

// Fingerprint returns the sha-256 fingerprint to offer in a=fingerprint.
func (c *Certificate) Fingerprint() Fingerprint { return c.fingerprint }

// NotAfter returns the end of the validity period.
func (c *Certificate) NotAfter() time.Time { return c.notAfter }

// DER returns the certificate's DER bytes (public data).
func (c *Certificate) DER() []byte { return c.tls.Certificate[0] }

// TLSCertificate returns the certificate and private key for a DTLS stack. Handle with care:
// it contains the private key.
func (c *Certificate) TLSCertificate() tls.Certificate { return c.tls }

// String shows the fingerprint and expiry, never the key.
func (c *Certificate) String() string {
	if c == nil {
		return "Certificate(nil)"
	}
	return fmt.Sprintf("Certificate{%s, notAfter: %s, key: %s}",
		c.fingerprint, c.notAfter.UTC().Format(time.RFC3339), redacted)
}

// GoString keeps %#v from walking into the private key.
func (c *Certificate) GoString() string { return c.String() }

// Format makes every fmt verb print String, so %x or %+v cannot dump the key.
func (c *Certificate) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// CertStore hands out the current certificate and rotates it on a schedule, lazily: Current
// checks the clock and generates a new certificate once rotateEvery has passed since the
// current one was made. No goroutine runs, so there is nothing to stop.
//
// A call keeps the *Certificate it got at offer time for its whole life, so rotation never
// changes the certificate of a live call; older certificates stay usable by the calls that
// hold them until they expire. NewCertStore requires rotateEvery <= validity/2, so a
// certificate handed out just before rotation still has at least half its validity left:
// with the defaults a call can last validity-rotateEvery before its certificate expires.
type CertStore struct {
	validity    time.Duration
	rotateEvery time.Duration
	now         func() time.Time

	mu      sync.Mutex // guards cur and issued; held while generating (rare, ~1 ms)
	cur     *Certificate
	issued  time.Time
	rotated int
}

// NewCertStore generates the first certificate. now may be nil (time.Now); tests pass a fake
// clock.
func NewCertStore(validity, rotateEvery time.Duration, now func() time.Time) (*CertStore, error) {
	if now == nil {
		now = time.Now
	}
	if rotateEvery <= 0 || validity <= 0 {
		return nil, errors.New("crypto: certificate validity and rotation period must be positive")
	}
	if rotateEvery > validity/2 {
		return nil, fmt.Errorf("crypto: rotation period %v must be at most half the validity %v, "+
			"so certificates held by live calls keep time to run", rotateEvery, validity)
	}
	s := &CertStore{validity: validity, rotateEvery: rotateEvery, now: now}
	if err := s.rotateLocked(now()); err != nil {
		return nil, err
	}
	return s, nil
}

// Current returns the certificate to use for a new offer, rotating first if it is due. If
// generating the replacement fails the previous certificate is returned (it still has at
// least half its validity) and the rotation is retried on the next call.
func (s *CertStore) Current() *Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.now(); t.Sub(s.issued) >= s.rotateEvery {
		_ = s.rotateLocked(t)
	}
	return s.cur
}

// Rotations reports how many certificates have been generated after the first.
func (s *CertStore) Rotations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotated
}

func (s *CertStore) rotateLocked(t time.Time) error {
	c, err := generateCertificateAt(t, s.validity)
	if err != nil {
		return err
	}
	if s.cur != nil {
		s.rotated++
	}
	s.cur, s.issued = c, t
	return nil
}
