package crypto

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind (pion's handshake loops
// included): Close must leave nothing running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestEndpointHandshakePipe(t *testing.T) {
	tests := []struct {
		name     string
		profiles []Profile // forced on both sides; nil = policy default
		want     Profile
	}{
		{"default prefers gcm128", nil, ProfileAEADAES128GCM},
		{"forced gcm128", []Profile{ProfileAEADAES128GCM}, ProfileAEADAES128GCM},
		{"forced gcm256", []Profile{ProfileAEADAES256GCM}, ProfileAEADAES256GCM},
		{"forced cm80", []Profile{ProfileAES128CMHMACSHA1_80}, ProfileAES128CMHMACSHA1_80},
	}
	for _, tc := range tests {
		for _, aRole := range []Role{RoleClient, RoleServer} {
			bRole := RoleServer
			if aRole == RoleServer {
				bRole = RoleClient
			}
			t.Run(tc.name+"/A="+aRole.String(), func(t *testing.T) {
				defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
				l := newLink()
				a, b := endpointPair(t, l, side{role: aRole, profiles: tc.profiles}, side{role: bRole, profiles: tc.profiles})
				out := runHandshakes(context.Background(), a, b)
				for i, o := range out {
					if o.err != nil {
						t.Fatalf("endpoint %d: %v", i, o.err)
					}
				}
				ra, rb := out[0].res, out[1].res
				if ra.Profile != tc.want || rb.Profile != tc.want || ra.Keys.Profile != tc.want {
					t.Fatalf("profile a=%v b=%v keys=%v, want %v", ra.Profile, rb.Profile, ra.Keys.Profile, tc.want)
				}
				if ra.CipherSuite != "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" || ra.CipherSuite != rb.CipherSuite {
					t.Fatalf("cipher suite a=%q b=%q", ra.CipherSuite, rb.CipherSuite)
				}
				if ra.Duration <= 0 {
					t.Fatal("Duration not set")
				}
				checkCrossKeys(t, ra, rb)
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				_ = a.Close() // idempotent
				waitDone(t, a, time.Second)
				waitDone(t, b, 5*time.Second) // B learns of the end through close_notify
				_ = b.Close()
			})
		}
	}
}

// TestEndpointPeerFingerprint checks the result reports the peer certificate as seen.
func TestEndpointPeerFingerprint(t *testing.T) {
	l := newLink()
	ca, cb := mustCert(t), mustCert(t)
	a, b := endpointPair(t, l, side{role: RoleClient, cert: ca}, side{role: RoleServer, cert: cb})
	out := runHandshakes(context.Background(), a, b)
	if out[0].err != nil || out[1].err != nil {
		t.Fatal(out[0].err, out[1].err)
	}
	if got, want := out[0].res.PeerFingerprint.String(), cb.Fingerprint().String(); got != want {
		t.Fatalf("A saw %s, want %s", got, want)
	}
	if got, want := out[1].res.PeerFingerprint.String(), ca.Fingerprint().String(); got != want {
		t.Fatalf("B saw %s, want %s", got, want)
	}
}

func TestEndpointFingerprintMismatch(t *testing.T) {
	other := mustCert(t)
	tests := []struct {
		name string
		// detector is the side given the wrong fingerprint; it must report the mismatch.
		detectorRole Role
	}{
		{"client detects", RoleClient},
		{"server detects", RoleServer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink()
			peerRole := RoleServer
			if tc.detectorRole == RoleServer {
				peerRole = RoleClient
			}
			det, peer := endpointPair(t, l,
				side{role: tc.detectorRole, peerFP: []Fingerprint{other.Fingerprint()}, timeout: 5 * time.Second},
				side{role: peerRole, timeout: 5 * time.Second})
			out := runHandshakes(context.Background(), det, peer)
			if !errors.Is(out[0].err, ErrFingerprintMismatch) {
				t.Fatalf("detector err = %v, want ErrFingerprintMismatch", out[0].err)
			}
			if out[0].res != nil {
				t.Fatal("detector returned a result despite the mismatch")
			}
			// The mismatch was caught by the in-handshake callback, not by a later check...
			if !det.fpMismatch.Load() {
				t.Fatal("mismatch not detected inside the handshake (VerifyPeerCertificate)")
			}
			// ...so the handshake was aborted with an alert: the peer fails at once, not by timeout.
			if errors.Is(out[1].err, ErrHandshakeTimeout) {
				t.Fatalf("peer timed out instead of receiving an alert: %v", out[1].err)
			}
			if out[1].err == nil || out[1].res != nil {
				t.Fatalf("peer should fail too (alert bad_certificate), got res=%v err=%v", out[1].res != nil, out[1].err)
			}
			waitDone(t, det, time.Second)
		})
	}
}

// TestEndpointStrongestFingerprint: with several a=fingerprint lines only the strongest hash
// counts (RFC 8122 §5); a correct sha-256 next to a wrong sha-512 must fail.
func TestEndpointStrongestFingerprint(t *testing.T) {
	bCert := mustCert(t)
	good256 := bCert.Fingerprint()
	good512, err := FingerprintOf(bCert.DER(), "sha-512")
	if err != nil {
		t.Fatal(err)
	}
	bad512 := Fingerprint{Hash: "sha-512", Value: make([]byte, 64)}
	bad256 := Fingerprint{Hash: "sha-256", Value: make([]byte, 32)}
	tests := []struct {
		name string
		fps  []Fingerprint
		ok   bool
	}{
		{"good 256 only", []Fingerprint{good256}, true},
		{"good 256 + wrong 512", []Fingerprint{good256, bad512}, false},
		{"wrong 256 + good 512", []Fingerprint{bad256, good512}, true},
		{"two 256, second good", []Fingerprint{bad256, good256}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink()
			a, b := endpointPair(t, l, side{role: RoleClient, peerFP: tc.fps, timeout: 5 * time.Second},
				side{role: RoleServer, cert: bCert, timeout: 5 * time.Second})
			out := runHandshakes(context.Background(), a, b)
			if tc.ok && out[0].err != nil {
				t.Fatalf("want success, got %v", out[0].err)
			}
			if !tc.ok && !errors.Is(out[0].err, ErrFingerprintMismatch) {
				t.Fatalf("want ErrFingerprintMismatch, got %v", out[0].err)
			}
		})
	}
}

// TestEndpointThirdPartyClientHello races ClientHellos from a third address against the
// real handshake (security requirement A5): Feed must refuse them and the call must connect.
func TestEndpointThirdPartyClientHello(t *testing.T) {
	// Capture a genuine ClientHello from an unrelated pion client.
	intruderLink := newLink()
	captured := make(chan []byte, 16)
	intruderLink.attach(addrB, func(b []byte, _ netip.AddrPort) bool {
		select {
		case captured <- append([]byte(nil), b...):
		default:
		}
		return true
	})
	intruderCert := mustCert(t)
	intruder := newRawPeer(t, intruderLink, addrThird, addrB, true, asClient(rawOpts(intruderCert)), nil)
	ictx, icancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer icancel()
	go func() { _ = intruder.conn.HandshakeContext(ictx) }()
	var hello []byte
	select {
	case hello = <-captured:
	case <-time.After(5 * time.Second):
		t.Fatal("intruder sent no ClientHello")
	}
	if hello[0] != 22 {
		t.Fatalf("captured record type %d, want handshake (22)", hello[0])
	}

	l := newLink()
	server, client := endpointPair(t, l, side{role: RoleServer}, side{role: RoleClient})
	if server.Feed(hello, addrThird) {
		t.Fatal("Feed accepted a ClientHello from a third address")
	}
	// A junk "ClientHello" offering only TLS_NULL_WITH_NULL_NULL, from the third address.
	junk := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 1, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0}
	stop := make(chan struct{})
	sprayed := make(chan int)
	go func() { // keep spraying both during the handshake
		n := 0
		defer func() { sprayed <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if server.Feed(hello, addrThird) || server.Feed(junk, addrThird) {
				panic("third-party datagram accepted")
			}
			n += 2
			time.Sleep(time.Millisecond)
		}
	}()
	out := runHandshakes(context.Background(), server, client)
	close(stop)
	n := <-sprayed
	if out[0].err != nil || out[1].err != nil {
		t.Fatalf("real handshake disturbed: server %v, client %v", out[0].err, out[1].err)
	}
	checkCrossKeys(t, out[0].res, out[1].res)
	if wrong, _ := server.Dropped(); wrong < uint64(n) {
		t.Fatalf("Dropped wrongSource = %d, want >= %d", wrong, n)
	}
}

// TestEndpointLostFinalFlight drops the server's last flight once. The client retransmits
// its flight 5 (RFC 6347 §4.2.4); the server, already finished, must answer it again, which
// only works if the Endpoint keeps servicing DTLS after Handshake returned.
func TestEndpointLostFinalFlight(t *testing.T) {
	l := newLink()
	dropped := 0
	l.drop = func(from netip.AddrPort, b []byte) bool {
		l.mu.Lock() // drop runs on pion's goroutines, outside the link's lock
		defer l.mu.Unlock()
		if from == addrA && b[0] == 20 && dropped == 0 { // server's ChangeCipherSpec+Finished
			dropped++
			return true
		}
		return false
	}
	server, client := endpointPair(t, l, side{role: RoleServer}, side{role: RoleClient})
	out := runHandshakes(context.Background(), server, client)
	if out[0].err != nil || out[1].err != nil {
		t.Fatalf("server %v, client %v", out[0].err, out[1].err)
	}
	l.mu.Lock()
	n := dropped
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("dropped %d final flights, want 1 (test did not exercise the retransmit)", n)
	}
	checkCrossKeys(t, out[0].res, out[1].res)
}

// TestHandshakeResultRedacted: printing a result in any way never shows key bytes.
func TestHandshakeResultRedacted(t *testing.T) {
	l := newLink()
	a, b := endpointPair(t, l, side{role: RoleClient}, side{role: RoleServer})
	out := runHandshakes(context.Background(), a, b)
	if out[0].err != nil {
		t.Fatal(out[0].err)
	}
	res := out[0].res
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q"} {
		s := fmt.Sprintf(format, res) + fmt.Sprintf(format, *res) + fmt.Sprintf(format, res.Keys)
		for _, k := range [][]byte{res.Keys.LocalKey, res.Keys.RemoteKey, res.Keys.LocalSalt, res.Keys.RemoteSalt} {
			if strings.Contains(strings.ToLower(s), fmt.Sprintf("%x", k)) || strings.Contains(s, string(k)) {
				t.Fatalf("%s leaks key material: %s", format, s)
			}
		}
		if !strings.Contains(s, redacted) {
			t.Fatalf("%s output lacks %s marker: %s", format, redacted, s)
		}
	}
}
