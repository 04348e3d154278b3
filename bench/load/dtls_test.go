package load

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"
)

// relayPeer plays the relay's DTLS side on a plain pion socket.
func relayPeer(t *testing.T, client bool, upstream netip.AddrPort, prof dtls.SRTPProtectionProfile) (*net.UDPConn, string, chan *srtp.Context) {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	keys := make(chan *srtp.Context, 1)
	go func() {
		defer close(keys)
		shared := []dtls.Option{dtls.WithCertificates(cert), dtls.WithSRTPProtectionProfiles(prof),
			dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret), dtls.WithInsecureSkipVerify(true)}
		raddr := net.UDPAddrFromAddrPort(upstream)
		var dc *dtls.Conn
		if client {
			var opts []dtls.ClientOption
			for _, o := range shared {
				opts = append(opts, o)
			}
			dc, err = dtls.ClientWithOptions(conn, raddr, opts...)
		} else {
			opts := []dtls.ServerOption{dtls.WithClientAuth(dtls.RequireAnyClientCert)}
			for _, o := range shared {
				opts = append(opts, o)
			}
			dc, err = dtls.ServerWithOptions(conn, raddr, opts...)
		}
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if dc.HandshakeContext(ctx) != nil {
			return
		}
		state, _ := dc.ConnectionState()
		p, _ := dc.SelectedSRTPProtectionProfile()
		cfg := srtp.Config{Profile: srtp.ProtectionProfile(p)}
		if cfg.ExtractSessionKeysFromDTLS(&state, client) != nil {
			return
		}
		enc, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
		if err == nil {
			keys <- enc
		}
	}()
	return conn, sdpFingerprint(cert.Certificate[0]), keys
}

func TestHandshakeAndSRTP(t *testing.T) {
	cases := []struct {
		name   string
		client bool // the upstream's role
		prof   dtls.SRTPProtectionProfile
	}{
		{"upstream active, AES-CM", true, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		{"upstream passive, AES-CM", false, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		{"upstream active, GCM", true, dtls.SRTP_AEAD_AES_128_GCM},
	}
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &Stats{}
			st.BeginEpoch(1)
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			e := newEndpoint(conn, DirDown, 3, true)
			go e.readLoop(st)
			defer e.close()
			peer, fp, keys := relayPeer(t, !c.client, e.addr(), c.prof)
			u := &upstreamTLS{cert: cert, fingerprint: sdpFingerprint(cert.Certificate[0]),
				profiles: []dtls.SRTPProtectionProfile{c.prof}, client: c.client}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, dec, dc, err := handshake(ctx, e, peer.LocalAddr().(*net.UDPAddr).AddrPort(), fp, u)
			if err != nil {
				t.Fatal(err)
			}
			defer dc.Close()
			e.dec.Store(dec)
			peerEnc := <-keys
			if peerEnc == nil {
				t.Fatal("relay side did not get keys")
			}
			// The relay side encrypts a flow toward the endpoint, which
			// must authenticate and decrypt every packet.
			f := newFlow(st, DirDown, 3, peer, e.addr(), peerEnc)
			for range 20 {
				f.Send()
			}
			deadline := time.Now().Add(3 * time.Second)
			for st.Window(1, DirDown).Received < 20 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if w := st.Window(1, DirDown); w.Received != 20 || st.AuthFail.Load() != 0 {
				t.Fatalf("received %d of 20, auth failures %d", w.Received, st.AuthFail.Load())
			}
		})
	}
}

func TestHandshakeRejectsWrongFingerprint(t *testing.T) {
	cert, _ := selfsign.GenerateSelfSigned()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	st := &Stats{}
	e := newEndpoint(conn, DirDown, 3, true)
	go e.readLoop(st)
	defer e.close()
	peer, _, _ := relayPeer(t, false, e.addr(), dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	u := &upstreamTLS{cert: cert, profiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80}, client: true}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	wrong := sdpFingerprint([]byte("someone else"))
	_, _, _, err = handshake(ctx, e, peer.LocalAddr().(*net.UDPAddr).AddrPort(), wrong, u)
	if err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("err = %v, want a fingerprint mismatch", err)
	}
}

func TestDTLSConnDeadline(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	e := newEndpoint(conn, DirDown, 0, true)
	d := newDTLSConn(e, netip.MustParseAddrPort("127.0.0.1:9"))
	done := make(chan error, 1)
	go func() {
		_, _, err := d.ReadFrom(make([]byte, 10))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	d.SetReadDeadline(time.Now().Add(-time.Second)) // how pion cancels a read
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read returned no error after the deadline")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a past deadline did not unblock ReadFrom")
	}
	d.SetReadDeadline(time.Time{})
	e.dtlsIn <- []byte{22, 1, 2}
	b := make([]byte, 10)
	if n, from, err := d.ReadFrom(b); err != nil || n != 3 || from.String() != "127.0.0.1:9" {
		t.Fatalf("read %d from %v: %v", n, from, err)
	}
	d.Close()
	if _, _, err := d.ReadFrom(b); err == nil {
		t.Fatal("read after close")
	}
	if _, err := d.WriteTo(b, nil); err == nil {
		t.Fatal("write after close")
	}
}
