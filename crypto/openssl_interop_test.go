//go:build interop

package crypto

// DTLS-SRTP handshakes against OpenSSL's s_server/s_client (an independent DTLS stack): both
// roles, every allowed profile, and the keying material OpenSSL exports with
// "EXTRACTOR-dtls_srtp" must equal ours. Keys are compared in memory and never logged.
// Run: go test -tags interop ./crypto/

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// opensslName is OpenSSL's -use_srtp spelling (ssl/d1_srtp.c).
func opensslName(p Profile) string {
	if p == ProfileAES128CMHMACSHA1_80 {
		return "SRTP_AES128_CM_SHA1_80"
	}
	return p.DTLSName()
}

func writeCertFiles(t *testing.T, c *Certificate) (certPath, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	der, err := x509.MarshalPKCS8PrivateKey(c.TLSCertificate().PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER()}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// opensslProc is a running openssl command whose output lines can be awaited.
type opensslProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	all   *bytes.Buffer // everything seen, for failure messages
}

func startOpenSSL(t *testing.T, args ...string) *opensslProc {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl not found: the interop tests need it (apt-get install openssl)")
	}
	cmd := exec.Command(path, args...)
	stdin, err := cmd.StdinPipe() // kept open: s_server/s_client quit on stdin EOF
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &opensslProc{cmd: cmd, stdin: stdin, lines: make(chan string, 256), all: &bytes.Buffer{}}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return p
}

// await returns the first line containing substr.
func (p *opensslProc) await(t *testing.T, substr string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("openssl exited before printing %q; output (keys elided):\n%s", substr, redactKeymat(p.all.String()))
			}
			p.all.WriteString(l + "\n")
			if strings.Contains(l, substr) {
				return l
			}
		case <-deadline:
			t.Fatalf("openssl did not print %q within %v; output (keys elided):\n%s", substr, within, redactKeymat(p.all.String()))
		}
	}
}

func redactKeymat(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "Keying material:") || strings.Contains(l, "Master-Key") {
			l = "    [keying material elided]"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// keymat reads OpenSSL's "Keying material: <HEX>" line.
func (p *opensslProc) keymat(t *testing.T) []byte {
	t.Helper()
	l := p.await(t, "Keying material:", 10*time.Second)
	b, err := hex.DecodeString(strings.TrimSpace(l[strings.Index(l, ":")+1:]))
	if err != nil {
		t.Fatal("openssl printed unparseable keying material")
	}
	return b
}

func sameKeys(a, b SessionKeys) bool {
	return a.Profile == b.Profile && bytes.Equal(a.LocalKey, b.LocalKey) && bytes.Equal(a.LocalSalt, b.LocalSalt) &&
		bytes.Equal(a.RemoteKey, b.RemoteKey) && bytes.Equal(a.RemoteSalt, b.RemoteSalt)
}

// TestOpenSSLServer: OpenSSL is the DTLS server, our Endpoint the client.
func TestOpenSSLServer(t *testing.T) {
	for _, pc := range profileCases {
		t.Run(pc.name, func(t *testing.T) {
			osslCert := mustCert(t)
			certPath, keyPath := writeCertFiles(t, osslCert)
			port := freeUDPPort(t)
			n := 2 * (pc.p.KeyLen() + pc.p.SaltLen())
			p := startOpenSSL(t, "s_server", "-dtls1_2", "-accept", "127.0.0.1:"+strconv.Itoa(int(port)),
				"-cert", certPath, "-key", keyPath, "-verify", "1", "-naccept", "1",
				"-use_srtp", opensslName(pc.p),
				"-keymatexport", exporterLabel, "-keymatexportlen", strconv.Itoa(n))
			p.await(t, "ACCEPT", 10*time.Second)

			h := newUDPHost(t)
			var err error
			h.ep, err = NewEndpoint(EndpointConfig{Role: RoleClient, Certificate: mustCert(t),
				PeerFingerprints: []Fingerprint{osslCert.Fingerprint()},
				Peer:             netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port),
				Send:             h.send, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			h.start()
			defer h.stop()

			res, err := h.ep.Handshake(context.Background())
			if err != nil {
				t.Fatalf("handshake with openssl s_server: %v", err)
			}
			if res.Profile != pc.p || !slices.Contains(allowedSuiteNames(), res.CipherSuite) {
				t.Fatalf("negotiated %v / %s", res.Profile, res.CipherSuite)
			}
			p.await(t, "SRTP Extension negotiated, profile="+opensslName(pc.p), 10*time.Second)
			want, err := splitExported(pc.p, p.keymat(t), true)
			if err != nil {
				t.Fatal(err)
			}
			if !sameKeys(res.Keys, want) {
				t.Fatal("our exported SRTP keys differ from OpenSSL's (values not shown)")
			}
		})
	}
}

// TestOpenSSLClient: OpenSSL is the DTLS client, our Endpoint the server. OpenSSL offers
// its list; the forced cases offer one profile, the "prefers" case offers CM80 first and
// must still get GCM128 (T6 against an independent client). Closing s_client's stdin makes
// it send close_notify, which must close our Done.
func TestOpenSSLClient(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		want  Profile
	}{
		{"gcm128", opensslName(ProfileAEADAES128GCM), ProfileAEADAES128GCM},
		{"gcm256", opensslName(ProfileAEADAES256GCM), ProfileAEADAES256GCM},
		{"cm80", opensslName(ProfileAES128CMHMACSHA1_80), ProfileAES128CMHMACSHA1_80},
		{"prefers gcm128 over cm80", "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM", ProfileAEADAES128GCM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			osslCert := mustCert(t)
			certPath, keyPath := writeCertFiles(t, osslCert)
			clientPort := freeUDPPort(t)

			h := newUDPHost(t)
			var err error
			h.ep, err = NewEndpoint(EndpointConfig{Role: RoleServer, Certificate: mustCert(t),
				PeerFingerprints: []Fingerprint{osslCert.Fingerprint()},
				Peer:             netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), clientPort),
				Send:             h.send, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			h.start()
			defer h.stop()
			type outcome struct {
				res *HandshakeResult
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := h.ep.Handshake(context.Background())
				done <- outcome{res, err}
			}()

			n := 2 * (tc.want.KeyLen() + tc.want.SaltLen())
			p := startOpenSSL(t, "s_client", "-dtls1_2",
				"-bind", "127.0.0.1:"+strconv.Itoa(int(clientPort)),
				"-connect", h.addr.String(), "-cert", certPath, "-key", keyPath,
				"-use_srtp", tc.offer,
				"-keymatexport", exporterLabel, "-keymatexportlen", strconv.Itoa(n))

			var o outcome
			select {
			case o = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("handshake with openssl s_client did not finish")
			}
			if o.err != nil {
				t.Fatalf("handshake with openssl s_client: %v", o.err)
			}
			if o.res.Profile != tc.want {
				t.Fatalf("negotiated %v, want %v", o.res.Profile, tc.want)
			}
			p.await(t, "SRTP Extension negotiated, profile="+opensslName(tc.want), 10*time.Second)
			want, err := splitExported(tc.want, p.keymat(t), false)
			if err != nil {
				t.Fatal(err)
			}
			if !sameKeys(o.res.Keys, want) {
				t.Fatal("our exported SRTP keys differ from OpenSSL's (values not shown)")
			}

			_ = p.stdin.Close() // s_client shuts down with close_notify
			waitDone(t, h.ep, 10*time.Second)
		})
	}
}

func allowedSuiteNames() []string {
	return []string{
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
		"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	}
}
