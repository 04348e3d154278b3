package load

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/ng"
)

type staticCert struct{ c *crypto.Certificate }

func (s staticCert) Current() *crypto.Certificate { return s.c }

// startSrtpgw runs an in-process srtpgw (relay and ng server, as the daemon
// wires them) on addresses of its own in 127.0.7.0/24, so no other test
// or benchmark on the machine holds its ports. It returns the ng address.
func startSrtpgw(t *testing.T) string {
	t.Helper()
	cert, err := crypto.GenerateCertificate(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lan, wan := netip.MustParseAddr("127.0.7.2"), netip.MustParseAddr("127.0.7.3")
	cfg := relay.DefaultConfig()
	cfg.Interfaces = []relay.Interface{{Name: "lan", Addr: lan, Advertised: lan}, {Name: "wan", Addr: wan, Advertised: wan}}
	cfg.PortMin, cfg.PortMax = 30000, 30999
	cfg.DeleteDelay = 0
	cfg.HandshakeTimeout = 5 * time.Second
	cfg.Certs = staticCert{cert}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 7, 1)})
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ng.NewServer(r, ng.Config{}).ServeUDP(ctx, conn)
	}()
	t.Cleanup(func() {
		cancel()
		conn.Close()
		<-done
		r.Close()
	})
	return conn.LocalAddr().String()
}

// TestRunAgainstSrtpgw drives an in-process srtpgw with the load tool,
// with and without -ice: every call must set up, every packet arrive both
// ways, and with -ice every check (the nominating one per call and the
// consent checks) must be answered, with nothing else seen on the wire.
func TestRunAgainstSrtpgw(t *testing.T) {
	ngAddr := startSrtpgw(t)
	cases := []struct {
		name  string
		ice   bool
		setup string
		gcm   bool
	}{
		{"dtls-srtp", false, "active", false},
		{"ice, upstream DTLS client", true, "active", false},
		{"ice, upstream DTLS server, GCM", true, "passive", true},
	}
	const calls = 4
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.NG, cfg.Label = ngAddr, "srtpgw"
			cfg.Steps = []int{calls}
			cfg.Warmup, cfg.Duration, cfg.Drain = 300*time.Millisecond, 1500*time.Millisecond, 200*time.Millisecond
			cfg.Direction = []string{"lan", "wan"}
			cfg.PhoneAddr, cfg.UpstreamAddr = netip.MustParseAddr("127.0.7.10"), netip.MustParseAddr("127.0.7.20")
			cfg.PhonePortBase = 20000 + 1000*i
			cfg.ICE, cfg.DTLSSetup, cfg.GCM = c.ice, c.setup, c.gcm
			cfg.ICEConsentInterval = 200 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if ok, why := res.Clean(); !ok {
				t.Fatalf("not clean: %s", why)
			}
			st := res.Steps[0]
			if st.Setup.OK != calls || st.Up.Delivered == 0 || st.Down.Delivered == 0 || res.Teardown.Deleted != calls {
				t.Fatalf("setup %+v, delivered up %d down %d, deleted %d", st.Setup, st.Up.Delivered, st.Down.Delivered, res.Teardown.Deleted)
			}
			if n := res.Counters.Invalid + res.Counters.AuthFail; n != 0 {
				t.Fatalf("counters %+v", res.Counters)
			}
			if !c.ice {
				if res.ICE || st.ICE != nil || res.Counters.ICE != nil {
					t.Fatalf("ICE reported without -ice: %v %+v %+v", res.ICE, st.ICE, res.Counters.ICE)
				}
				return
			}
			ice := res.Counters.ICE
			t.Logf("setup p50 %.1f ms; window checks %+v; run %+v", st.Setup.P50MS, st.ICE, ice)
			if !res.ICE || ice == nil || st.ICE == nil {
				t.Fatalf("no ICE report: %v %+v %+v", res.ICE, st.ICE, ice)
			}
			// 1.5 s at one check per 0.16-0.24 s per call is at least 6
			// checks per call in the window; a loaded machine delays the
			// scheduler's ticks, so only half are demanded.
			if st.ICE.Sent < 3*calls || st.ICE.Answered != st.ICE.Sent {
				t.Fatalf("window checks %+v, want >= %d, all answered", *st.ICE, 3*calls)
			}
			if ice.Sent < calls+st.ICE.Sent || ice.Answered != ice.Sent || ice.ErrorResponses+ice.Invalid+ice.RelayChecks+ice.SendErrors != 0 {
				t.Fatalf("run ICE counters %+v", *ice)
			}
		})
	}
}
