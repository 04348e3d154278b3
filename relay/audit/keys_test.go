package audit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyCreated0600(t *testing.T) {
	e := newEnv(t)
	e.cfg.KeyPath = filepath.Join(e.dir, "keys", "new.key") // dir does not exist yet
	l := e.open()
	fi, err := os.Stat(e.cfg.KeyPath)
	mustNil(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %04o, want 0600", fi.Mode().Perm())
	}
	pubFile, err := os.ReadFile(e.cfg.KeyPath + ".pub")
	mustNil(t, err)
	if string(pubFile) != string(l.PublicKeyPEM()) {
		t.Fatal(".pub file differs from PublicKeyPEM")
	}
	pub, err := LoadPublicKey(e.cfg.KeyPath + ".pub")
	mustNil(t, err)
	if !pub.Equal(l.PublicKey()) {
		t.Fatal("LoadPublicKey does not round-trip")
	}
	// The same key is used on the next start.
	l2pub := l.PublicKey()
	mustNil(t, l.Shutdown("test"))
	l = e.open()
	if !l.PublicKey().Equal(l2pub) {
		t.Fatal("key changed across restarts")
	}
	// Hex form is accepted too.
	hexFile := filepath.Join(e.dir, "pub.hex")
	mustNil(t, os.WriteFile(hexFile, []byte(hex.EncodeToString(l2pub)+"\n"), 0o644))
	if pub, err := LoadPublicKey(hexFile); err != nil || !pub.Equal(l2pub) {
		t.Fatalf("hex public key: %v", err)
	}
	mustNil(t, l.Shutdown("test"))
}

func TestKeyFileRefused(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	tests := []struct {
		name    string
		content []byte // nil: keep the valid test key
		mode    os.FileMode
		wantErr error
		wantMsg string
	}{
		{"group readable", nil, 0o640, ErrKeyPermissions, "0640"},
		{"world readable", nil, 0o644, ErrKeyPermissions, "0644"},
		{"group writable", nil, 0o620, ErrKeyPermissions, ""},
		{"not PEM", []byte("hello\n"), 0o600, nil, "not a single PEM PRIVATE KEY"},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}), 0o600, nil, "not a single PEM"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("SECRETBYTES")}), 0o600, nil, "malformed"},
		{"not Ed25519", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), 0o600, nil, "not an Ed25519"},
		{"empty", []byte{}, 0o600, nil, "not a single PEM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.content != nil {
				mustNil(t, os.WriteFile(e.cfg.KeyPath, tc.content, 0o600))
			}
			mustNil(t, os.Chmod(e.cfg.KeyPath, tc.mode))
			_, err := Open(e.cfg)
			if err == nil {
				t.Fatal("Open accepted the key file")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err %q, want it to mention %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), "SECRETBYTES") {
				t.Fatal("error quotes the key file")
			}
			if _, err := os.Stat(e.cfg.Path); err == nil {
				t.Fatal("log created despite a refused key")
			}
		})
	}
}

func TestKeyReadOnly0400Accepted(t *testing.T) {
	e := newEnv(t)
	mustNil(t, os.Chmod(e.cfg.KeyPath, 0o400))
	l := e.open()
	mustNil(t, l.Shutdown("test"))
}

func TestRedactKeyRefused(t *testing.T) {
	e := newEnv(t)
	e.cfg.RedactKeyPath = filepath.Join(e.dir, "redact.key")
	mustNil(t, os.WriteFile(e.cfg.RedactKeyPath, []byte(strings.Repeat("ab", 32)), 0o644))
	if _, err := Open(e.cfg); !errors.Is(err, ErrKeyPermissions) {
		t.Fatalf("loose redact key: %v", err)
	}
	mustNil(t, os.WriteFile(e.cfg.RedactKeyPath, []byte("zz"), 0o600))
	mustNil(t, os.Chmod(e.cfg.RedactKeyPath, 0o600))
	if _, err := Open(e.cfg); err == nil || !strings.Contains(err.Error(), "hex") {
		t.Fatalf("malformed redact key: %v", err)
	}
}

func TestKeyChangedRefused(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	mustNil(t, l.Shutdown("test"))
	mustNil(t, os.Remove(e.cfg.KeyPath)) // lost key: Open would make a new one
	if _, err := Open(e.cfg); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("Open with a new key: %v", err)
	}
	// The refusal wrote nothing.
	if res := e.mustVerify(); res.Records != 4 {
		t.Fatalf("records %d", res.Records)
	}
}
