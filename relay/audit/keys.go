package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrKeyPermissions is returned by Open when a key file is accessible to
// group or others. A signing key that other local users can read makes the
// checkpoints worthless (anyone could re-sign a rewritten log), so this is
// refused rather than fixed silently.
var ErrKeyPermissions = errors.New("audit: key file permissions too open (want 0600 or 0400)")

const maxKeyFile = 64 << 10

// loadOrCreateSigningKey returns the Ed25519 key at path, creating it
// (0600, O_EXCL) with a fresh key from crypto/rand if the file is missing.
func loadOrCreateSigningKey(path string) (ed25519.PrivateKey, error) {
	data, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, fmt.Errorf("audit: generate signing key: %w", gerr)
		}
		der, merr := x509.MarshalPKCS8PrivateKey(priv)
		if merr != nil {
			return nil, fmt.Errorf("audit: encode signing key: %w", merr)
		}
		err = createKeyFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if errors.Is(err, os.ErrExist) {
			return loadOrCreateSigningKey(path) // lost a creation race: use theirs
		}
		if err != nil {
			return nil, err
		}
		return priv, nil
	}
	if err != nil {
		return nil, err
	}
	blk, rest := pem.Decode(data)
	if blk == nil || blk.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("audit: signing key %s: not a single PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key %s: malformed PKCS #8", path)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: signing key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

// loadOrCreateRedactKey returns the 32-byte HMAC key at path, creating it
// if missing.
func loadOrCreateRedactKey(path string) ([]byte, error) {
	key, err := LoadRedactKey(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("audit: generate redact key: %w", err)
		}
		err = createKeyFile(path, []byte(hex.EncodeToString(key)+"\n"))
		if errors.Is(err, os.ErrExist) {
			return loadOrCreateRedactKey(path)
		}
		if err != nil {
			return nil, err
		}
		return key, nil
	}
	return key, err
}

// LoadRedactKey reads a redaction key file (64 hex digits), enforcing the
// same permission rule as Open. An auditor uses it with Redact to find a
// call in a redacted log.
func LoadRedactKey(path string) ([]byte, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("audit: redact key %s: want at least 32 hex digits", path)
	}
	return key, nil
}

// readKeyFile reads a secret file after checking that it is a regular file
// no one but the owner can access. The error never quotes the content.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("audit: key file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o", ErrKeyPermissions, path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("audit: key file %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("audit: key file %s is too large", path)
	}
	return data, nil
}

// createKeyFile writes a new secret file with mode 0600 (O_EXCL: never
// overwrite an existing key) and fsyncs it, so a crash right after start
// cannot leave an empty key behind the first checkpoint.
func createKeyFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("audit: key dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit: create key file: %w", err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return fmt.Errorf("audit: write key file %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// marshalPublicKey encodes pub as a PEM "PUBLIC KEY" (PKIX), the form
// `openssl pkey -pubin` reads.
func marshalPublicKey(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // cannot happen for a valid ed25519.PublicKey
		panic("audit: marshal public key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// writePublicKey writes KeyPath+".pub" unless it already holds this key.
// The public key is derived data, so a stale or missing file is replaced
// (write to a temp file, then rename).
func writePublicKey(path string, pub ed25519.PublicKey) error {
	want := marshalPublicKey(pub)
	if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, want) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, want, 0o644); err != nil {
		return fmt.Errorf("audit: write public key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("audit: write public key: %w", err)
	}
	return nil
}

// LoadPublicKey reads a checkpoint public key: a PEM "PUBLIC KEY" block
// (as written next to KeyPath) or the raw 32-byte key as 64 hex digits.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	return ParsePublicKey(data)
}

// ParsePublicKey parses the formats LoadPublicKey accepts.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(data); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("audit: public key: PEM type %q, want PUBLIC KEY", blk.Type)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("audit: public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("audit: public key is not Ed25519")
		}
		return pub, nil
	}
	raw, err := hex.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("audit: public key: want PEM PUBLIC KEY or 64 hex digits")
	}
	return ed25519.PublicKey(raw), nil
}

// KeyID names a checkpoint key in records: the first 8 bytes of
// SHA-256(raw public key), hex. It lets a verifier report "signed by a
// different key" rather than just "bad signature".
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Redact returns the value written for a call-id or tag when redaction is
// on: "hmac-sha256:" and the first 16 bytes (32 hex digits) of
// HMAC-SHA-256(key, value). Deterministic, so an auditor with the key can
// compute the token for a known Call-ID and search for it; without the key
// the token reveals nothing about the value (RFC 2104 PRF assumption).
func Redact(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	var sum [sha256.Size]byte
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(sum[:0])[:16])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync dir %s: %w", dir, err)
	}
	return nil
}
