package crypto

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/elliptic"
)

// ourEndpoint builds our Endpoint at addrA in role, expecting a raw pion peer at addrB.
func ourEndpoint(t *testing.T, l *link, role Role, peerCert *Certificate) *Endpoint {
	t.Helper()
	e, err := NewEndpoint(EndpointConfig{
		Role: role, Certificate: mustCert(t), PeerFingerprints: []Fingerprint{peerCert.Fingerprint()},
		Peer: addrB, Send: l.sender(addrA), Timeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	l.attach(addrA, e.Feed)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// runAgainstRaw runs our Endpoint's Handshake and the raw peer's concurrently.
func runAgainstRaw(e *Endpoint, raw *rawPeer) (*HandshakeResult, error, error) {
	rawErr := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go func() { rawErr <- raw.conn.HandshakeContext(ctx) }()
	res, err := e.Handshake(context.Background())
	if err != nil {
		_ = raw.conn.Close()
	}
	return res, err, <-rawErr
}

// TestServerProfilePreference: as DTLS server we choose from OUR ordered list (T6), so a
// peer offering {CM80, GCM128} in that order gets GCM128.
func TestServerProfilePreference(t *testing.T) {
	tests := []struct {
		name    string
		offered []dtls.SRTPProtectionProfile
		want    Profile
	}{
		{"CM80,GCM128 -> GCM128", []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.SRTP_AEAD_AES_128_GCM}, ProfileAEADAES128GCM},
		{"CM80,GCM256 -> GCM256", []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.SRTP_AEAD_AES_256_GCM}, ProfileAEADAES256GCM},
		{"GCM256,GCM128 -> GCM128", []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AEAD_AES_128_GCM}, ProfileAEADAES128GCM},
		{"CM32,CM80 -> CM80", []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_32, dtls.SRTP_AES128_CM_HMAC_SHA1_80}, ProfileAES128CMHMACSHA1_80},
		{"CM80 only (Asterisk-like)", []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80}, ProfileAES128CMHMACSHA1_80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink()
			rawCert := mustCert(t)
			e := ourEndpoint(t, l, RoleServer, rawCert)
			raw := newRawPeer(t, l, addrB, addrA, true,
				asClient(rawOpts(rawCert), dtls.WithSRTPProtectionProfiles(tc.offered...)), nil)
			res, err, rawErr := runAgainstRaw(e, raw)
			if err != nil || rawErr != nil {
				t.Fatalf("ours %v, raw %v", err, rawErr)
			}
			if res.Profile != tc.want {
				t.Fatalf("negotiated %v, want %v", res.Profile, tc.want)
			}
			if got, _ := raw.conn.SelectedSRTPProtectionProfile(); Profile(got) != tc.want {
				t.Fatalf("raw peer sees %v", Profile(got))
			}
		})
	}
}

// TestPolicyRefusesWeakPeers: a peer that can only do what the policy refuses must fail the
// handshake (T1, T6, T9, RFC 5763 §5), whichever side it is on.
func TestPolicyRefusesWeakPeers(t *testing.T) {
	// want is a fragment of pion's error naming the reason, so each case is shown to fail
	// for the reason it claims (update these if a pion upgrade rewords them).
	clientCases := []struct {
		name string
		opts []dtls.Option
		want string
	}{
		{"only _32 and NULL profiles", []dtls.Option{dtls.WithSRTPProtectionProfiles(
			dtls.SRTP_AES128_CM_HMAC_SHA1_32, dtls.SRTP_NULL_HMAC_SHA1_80, dtls.SRTP_NULL_HMAC_SHA1_32)}, "SRTP"},
		{"only AES256-CM profile", []dtls.Option{dtls.WithSRTPProtectionProfiles(dtls.SRTP_AES256_CM_SHA1_80)}, "SRTP"},
		{"only CBC suites", []dtls.Option{dtls.WithCipherSuites(
			dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, dtls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA)}, "cipher suite"},
		{"only ChaCha20 suites", []dtls.Option{dtls.WithCipherSuites(
			dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, dtls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)}, "cipher suite"},
		{"only CCM suites", []dtls.Option{dtls.WithCipherSuites(
			dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)}, "cipher suite"},
		{"without extended master secret", []dtls.Option{dtls.WithExtendedMasterSecret(dtls.DisableExtendedMasterSecret)}, "Extended Master Secret"},
		{"only X25519", []dtls.Option{dtls.WithEllipticCurves(elliptic.X25519)}, "elliptic curve"},
	}
	for _, tc := range clientCases {
		t.Run("client "+tc.name, func(t *testing.T) {
			l := newLink()
			rawCert := mustCert(t)
			e := ourEndpoint(t, l, RoleServer, rawCert)
			raw := newRawPeer(t, l, addrB, addrA, true, asClient(rawOpts(rawCert), tc.opts...), nil)
			res, err, _ := runAgainstRaw(e, raw)
			if err == nil || res != nil {
				t.Fatalf("handshake with a peer offering %s succeeded", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refused for another reason than %q: %v", tc.want, err)
			}
		})
	}

	t.Run("client without use_srtp", func(t *testing.T) {
		l := newLink()
		rawCert := mustCert(t)
		e := ourEndpoint(t, l, RoleServer, rawCert)
		opts := []dtls.ClientOption{
			dtls.WithCertificates(rawCert.TLSCertificate()), dtls.WithInsecureSkipVerify(true),
			dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		}
		raw := newRawPeer(t, l, addrB, addrA, true, opts, nil)
		res, err, _ := runAgainstRaw(e, raw)
		if !errors.Is(err, ErrPolicy) || res != nil {
			t.Fatalf("err = %v, want ErrPolicy (pion completes DTLS without use_srtp)", err)
		}
	})

	t.Run("client with only PSK suites", func(t *testing.T) {
		l := newLink()
		e := ourEndpoint(t, l, RoleServer, mustCert(t))
		opts := []dtls.ClientOption{
			dtls.WithPSK(func([]byte) ([]byte, error) { return []byte{1, 2, 3, 4}, nil }),
			dtls.WithPSKIdentityHint([]byte("srtpgw-test")),
			dtls.WithCipherSuites(dtls.TLS_PSK_WITH_AES_128_GCM_SHA256, dtls.TLS_PSK_WITH_AES_128_CCM),
			dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM),
		}
		raw := newRawPeer(t, l, addrB, addrA, true, opts, nil)
		res, err, _ := runAgainstRaw(e, raw)
		if err == nil || res != nil {
			t.Fatal("server accepted a PSK-only client")
		}
	})

	t.Run("client without certificate", func(t *testing.T) {
		l := newLink()
		rawCert := mustCert(t)
		e := ourEndpoint(t, l, RoleServer, rawCert)
		opts := []dtls.ClientOption{
			dtls.WithInsecureSkipVerify(true),
			dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM),
		}
		raw := newRawPeer(t, l, addrB, addrA, true, opts, nil)
		res, err, rawErr := runAgainstRaw(e, raw)
		if err == nil || res != nil {
			t.Fatal("server accepted a client without a certificate (RFC 5763 §5)")
		}
		// Refused inside the handshake (ClientAuth RequireAnyClientCert), not after it.
		if rawErr == nil {
			t.Fatal("the certificate-less client completed its handshake")
		}
	})

	// The raw server refuses our offer and alerts; we see the alert (insufficient_security).
	serverCases := []struct {
		name string
		opts []dtls.Option
		want string
	}{
		{"without extended master secret", []dtls.Option{dtls.WithExtendedMasterSecret(dtls.DisableExtendedMasterSecret)}, "Extended Master Secret"},
		{"only _32 profile", []dtls.Option{dtls.WithSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_32)}, "InsufficientSecurity"},
		{"only CBC suites", []dtls.Option{dtls.WithCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA)}, "InsufficientSecurity"},
		{"only ChaCha20 suites", []dtls.Option{dtls.WithCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)}, "InsufficientSecurity"},
	}
	for _, tc := range serverCases {
		t.Run("server "+tc.name, func(t *testing.T) {
			l := newLink()
			rawCert := mustCert(t)
			e := ourEndpoint(t, l, RoleClient, rawCert)
			raw := newRawPeer(t, l, addrB, addrA, false, nil, asServer(rawOpts(rawCert), func() []dtls.ServerOption {
				out := []dtls.ServerOption{dtls.WithClientAuth(dtls.RequireAnyClientCert)}
				for _, o := range tc.opts {
					out = append(out, o)
				}
				return out
			}()...))
			res, err, _ := runAgainstRaw(e, raw)
			if err == nil || res != nil {
				t.Fatalf("our client completed with a server %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refused for another reason than %q: %v", tc.want, err)
			}
		})
	}
}

// TestClientAcceptsServerChoice: as DTLS client the server picks; any allowed profile it
// picks is fine (an Asterisk-like server choosing CM80 must work).
func TestClientAcceptsServerChoice(t *testing.T) {
	l := newLink()
	rawCert := mustCert(t)
	e := ourEndpoint(t, l, RoleClient, rawCert)
	raw := newRawPeer(t, l, addrB, addrA, false, nil, asServer(rawOpts(rawCert),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.SRTP_AEAD_AES_128_GCM),
		dtls.WithClientAuth(dtls.RequireAnyClientCert)))
	res, err, rawErr := runAgainstRaw(e, raw)
	if err != nil || rawErr != nil {
		t.Fatalf("ours %v, raw %v", err, rawErr)
	}
	if res.Profile != ProfileAES128CMHMACSHA1_80 {
		t.Fatalf("profile %v, want the server's choice CM80", res.Profile)
	}
	// Keys match what the raw peer exports (server side of RFC 5764 §4.2).
	st, ok := raw.conn.ConnectionState()
	if !ok {
		t.Fatal("no raw state")
	}
	km, err := st.ExportKeyingMaterial(exporterLabel, nil, 2*(16+14))
	if err != nil {
		t.Fatal(err)
	}
	want, err := splitExported(ProfileAES128CMHMACSHA1_80, km, false)
	if err != nil {
		t.Fatal(err)
	}
	checkCrossKeys(t, res, &HandshakeResult{Keys: want})
}

// TestServerCookieAndNoResumption: as DTLS server our first answer to a ClientHello is a
// HelloVerifyRequest (cookie on, security requirement A4), smaller than the ClientHello so
// a spoofed source gains no amplification; and no session ID is issued, so nothing can be
// resumed (no SessionStore, T9).
func TestServerCookieAndNoResumption(t *testing.T) {
	l := newLink()
	var firstFromClient, firstFromServer []byte
	l.drop = func(from netip.AddrPort, b []byte) bool {
		l.mu.Lock() // drop runs on pion's goroutines, outside the link's lock
		defer l.mu.Unlock()
		switch {
		case from == addrB && firstFromClient == nil:
			firstFromClient = append([]byte(nil), b...)
		case from == addrA && firstFromServer == nil:
			firstFromServer = append([]byte(nil), b...)
		}
		return false
	}
	rawCert := mustCert(t)
	e := ourEndpoint(t, l, RoleServer, rawCert)
	raw := newRawPeer(t, l, addrB, addrA, true, asClient(rawOpts(rawCert)), nil)
	if _, err, rawErr := runAgainstRaw(e, raw); err != nil || rawErr != nil {
		t.Fatalf("ours %v, raw %v", err, rawErr)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// DTLS record header is 13 bytes; the handshake message type follows (RFC 6347 §4.1, §4.2.2).
	const recordHeader, handshake, helloVerifyRequest, clientHello = 13, 22, 3, 1
	if len(firstFromClient) <= recordHeader || firstFromClient[recordHeader] != clientHello {
		t.Fatal("first client datagram is not a ClientHello")
	}
	if len(firstFromServer) <= recordHeader || firstFromServer[0] != handshake || firstFromServer[recordHeader] != helloVerifyRequest {
		t.Fatalf("server's first answer is not a HelloVerifyRequest (type %d)", firstFromServer[recordHeader])
	}
	if len(firstFromServer) >= len(firstFromClient) {
		t.Fatalf("HelloVerifyRequest %d bytes >= ClientHello %d bytes: amplification", len(firstFromServer), len(firstFromClient))
	}
	st, ok := raw.conn.ConnectionState()
	if !ok {
		t.Fatal("no state")
	}
	if len(st.SessionID) != 0 {
		t.Fatalf("server issued a %d-byte session ID: resumption possible", len(st.SessionID))
	}
}
