package crypto

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// udpHost is one side of a loopback test: a real UDP socket and a read loop that demuxes by
// first byte the way the relay does (RFC 7983): 20..63 to the Endpoint, 128..191 to media.
type udpHost struct {
	conn  *net.UDPConn
	addr  netip.AddrPort
	ep    *Endpoint
	media chan []byte
	wg    sync.WaitGroup
}

func newUDPHost(t *testing.T) *udpHost {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return &udpHost{conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), media: make(chan []byte, 16)}
}

func (h *udpHost) send(b []byte, to netip.AddrPort) error {
	_, err := h.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (h *udpHost) start() {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := h.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // socket closed
			}
			switch b := buf[:n]; {
			case n > 0 && b[0] >= 20 && b[0] <= 63:
				h.ep.Feed(b, from)
			case n > 0 && b[0] >= 128 && b[0] <= 191:
				select {
				case h.media <- append([]byte(nil), b...):
				default:
				}
			}
		}
	}()
}

func (h *udpHost) stop() {
	_ = h.ep.Close()
	_ = h.conn.Close()
	h.wg.Wait()
}

func TestEndpointHandshakeUDP(t *testing.T) {
	for _, aRole := range []Role{RoleClient, RoleServer} {
		t.Run("A="+aRole.String(), func(t *testing.T) {
			bRole := RoleServer
			if aRole == RoleServer {
				bRole = RoleClient
			}
			ha, hb := newUDPHost(t), newUDPHost(t)
			ca, cb := mustCert(t), mustCert(t)
			var err error
			ha.ep, err = NewEndpoint(EndpointConfig{Role: aRole, Certificate: ca,
				PeerFingerprints: []Fingerprint{cb.Fingerprint()}, Peer: hb.addr, Send: ha.send, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			hb.ep, err = NewEndpoint(EndpointConfig{Role: bRole, Certificate: cb,
				PeerFingerprints: []Fingerprint{ca.Fingerprint()}, Peer: ha.addr, Send: hb.send, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ha.start()
			hb.start()
			defer hb.stop()
			defer ha.stop()

			out := runHandshakes(context.Background(), ha.ep, hb.ep)
			if out[0].err != nil || out[1].err != nil {
				t.Fatalf("A %v, B %v", out[0].err, out[1].err)
			}
			checkCrossKeys(t, out[0].res, out[1].res)

			// Media over the same sockets, both ways, with Sessions from the exported keys.
			sa, err := NewSession(out[0].res.Keys, 0)
			if err != nil {
				t.Fatal(err)
			}
			sb, err := NewSession(out[1].res.Keys, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []struct {
				from, to *udpHost
				enc, dec *Session
			}{{ha, hb, sa, sb}, {hb, ha, sb, sa}} {
				pkt := rtpPacket(42, 7, g711Payload)
				ct, err := d.enc.EncryptRTP(nil, pkt)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.from.send(ct, d.to.addr); err != nil {
					t.Fatal(err)
				}
				select {
				case got := <-d.to.media:
					pt, err := d.dec.DecryptRTP(nil, got)
					if err != nil || !bytes.Equal(pt, pkt) {
						t.Fatalf("SRTP over UDP: %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no SRTP packet arrived")
				}
			}

			// Closing A sends close_notify over UDP; B's Done must close.
			_ = ha.ep.Close()
			waitDone(t, hb.ep, 5*time.Second)
		})
	}
}
