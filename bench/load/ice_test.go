package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

const (
	testRelayUfrag = "RLYufrag"
	testRelayPwd   = "relaypasswordrelaypassword"
)

// TestBuildCheck decodes the load tool's binding requests with pion/stun
// and checks every attribute ICE needs (RFC 8445 §7.1.1-§7.1.2).
func TestBuildCheck(t *testing.T) {
	req := checkRequest{username: testRelayUfrag + ":UPufrag1", tieBreaker: 0x0123456789abcdef, priority: checkPriority}
	key := stun.NewShortTermIntegrity(testRelayPwd)
	for _, nominate := range []bool{true, false} {
		tx := stun.NewTransactionID()
		var m stun.Message
		m.Raw = make([]byte, 0, 8) // a reused buffer must not leak old bytes
		m.Raw = append(m.Raw, 0xde, 0xad)
		if err := buildCheck(&m, tx, req, nominate, key); err != nil {
			t.Fatal(err)
		}
		got := new(stun.Message)
		if err := stun.Decode(append([]byte(nil), m.Raw...), got); err != nil {
			t.Fatal(err)
		}
		if got.Type != stun.BindingRequest || got.TransactionID != tx {
			t.Fatalf("type %v id %x, want a binding request with %x", got.Type, got.TransactionID, tx)
		}
		var user stun.Username
		if err := user.GetFrom(got); err != nil || user.String() != req.username {
			t.Fatalf("USERNAME %q, %v", user, err)
		}
		v, err := got.Get(stun.AttrICEControlling)
		if err != nil || len(v) != 8 || binary.BigEndian.Uint64(v) != req.tieBreaker {
			t.Fatalf("ICE-CONTROLLING %x, %v", v, err)
		}
		if got.Contains(stun.AttrICEControlled) {
			t.Fatal("ICE-CONTROLLED in a controlling agent's check")
		}
		v, err = got.Get(stun.AttrPriority)
		if err != nil || len(v) != 4 || binary.BigEndian.Uint32(v) != checkPriority {
			t.Fatalf("PRIORITY %x, %v", v, err)
		}
		if got.Contains(stun.AttrUseCandidate) != nominate {
			t.Fatalf("USE-CANDIDATE present %v, want %v", got.Contains(stun.AttrUseCandidate), nominate)
		}
		if err := key.Check(got); err != nil {
			t.Fatalf("MESSAGE-INTEGRITY with the relay's pwd: %v", err)
		}
		if stun.NewShortTermIntegrity("another password entirely").Check(got) == nil {
			t.Fatal("MESSAGE-INTEGRITY verifies with a wrong key")
		}
		if err := stun.Fingerprint.Check(got); err != nil {
			t.Fatal(err)
		}
		// RFC 8489 §14.5, §14.7: MESSAGE-INTEGRITY then FINGERPRINT, last.
		n := len(got.Attributes)
		if n < 2 || got.Attributes[n-2].Type != stun.AttrMessageIntegrity || got.Attributes[n-1].Type != stun.AttrFingerprint {
			t.Fatalf("attribute order %v", got.Attributes)
		}
	}
}

// response builds what a relay might send, with pion/stun.
func response(t *testing.T, setters ...stun.Setter) []byte {
	t.Helper()
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// corruptLast flips a bit of the last byte: a FINGERPRINT that no longer
// matches.
func corruptLast(b []byte) []byte {
	b[len(b)-1] ^= 1
	return b
}

func TestParseSTUN(t *testing.T) {
	key := stun.NewShortTermIntegrity(testRelayPwd)
	wrong := stun.NewShortTermIntegrity("not the relay password!!")
	tx := stun.NewTransactionIDSetter(stun.NewTransactionID())
	xor := &stun.XORMappedAddress{IP: net.IPv4(127, 0, 2, 1), Port: 40000}
	cases := []struct {
		name string
		pkt  []byte
		kind stunKind
		code int
	}{
		{"success", response(t, tx, stun.BindingSuccess, xor, key, stun.Fingerprint), stunSuccess, 0},
		{"success, wrong key", response(t, tx, stun.BindingSuccess, xor, wrong, stun.Fingerprint), stunInvalid, 0},
		{"success without integrity", response(t, tx, stun.BindingSuccess, xor, stun.Fingerprint), stunInvalid, 0},
		{"success without fingerprint", response(t, tx, stun.BindingSuccess, xor, key), stunInvalid, 0},
		{"role conflict", response(t, tx, stun.BindingError, stun.CodeRoleConflict, key, stun.Fingerprint), stunFailure, 487},
		{"bad request, unauthenticated", response(t, tx, stun.BindingError, stun.CodeBadRequest, stun.Fingerprint), stunFailure, 400},
		{"role conflict without fingerprint", response(t, tx, stun.BindingError, stun.CodeRoleConflict, key), stunFailure, 487},
		{"error, bad fingerprint", corruptLast(response(t, tx, stun.BindingError, stun.CodeRoleConflict, stun.Fingerprint)), stunInvalid, 0},
		{"success, bad fingerprint", corruptLast(response(t, tx, stun.BindingSuccess, xor, key, stun.Fingerprint)), stunInvalid, 0},
		{"error, wrong key", response(t, tx, stun.BindingError, stun.CodeUnauthorized, wrong, stun.Fingerprint), stunInvalid, 0},
		{"request from a full agent", response(t, tx, stun.BindingRequest, stun.NewUsername("a:b"), key, stun.Fingerprint), stunRequest, 0},
		{"indication", response(t, tx, stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.Fingerprint), stunInvalid, 0},
		{"other method", response(t, tx, stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse), key, stun.Fingerprint), stunInvalid, 0},
		{"truncated", response(t, tx, stun.BindingSuccess, xor, key, stun.Fingerprint)[:30], stunInvalid, 0},
		{"not STUN", []byte{0, 1, 0, 0, 1, 2, 3, 4}, stunInvalid, 0},
	}
	var m stun.Message
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kind, code, err := parseSTUN(&m, c.pkt, key)
			if kind != c.kind || code != c.code {
				t.Fatalf("kind %d code %d (%v), want %d %d", kind, code, err, c.kind, c.code)
			}
			if (kind == stunInvalid) != (err != nil) {
				t.Fatalf("kind %d with err %v", kind, err)
			}
		})
	}
}

// fakeLite is an ICE-lite relay made of pion/stun: it verifies checks as
// srtpgw does (USERNAME prefix, MESSAGE-INTEGRITY with its pwd) and
// answers them, unless told to drop, refuse or forge.
type fakeLite struct {
	liteMode
	conn   *net.UDPConn
	mu     sync.Mutex
	checks []*stun.Message
}

type liteMode struct {
	dropFirst int  // checks not answered first (the agent must resend)
	errCode   int  // answer with this error instead
	wrongKey  bool // answer with a MESSAGE-INTEGRITY the agent cannot verify
}

func newFakeLite(t *testing.T, mode liteMode) *fakeLite {
	t.Helper()
	f := &fakeLite{liteMode: mode}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f.conn = conn
	t.Cleanup(func() { conn.Close() })
	key := stun.NewShortTermIntegrity(testRelayPwd)
	if f.wrongKey {
		key = stun.NewShortTermIntegrity("forged forged forged forged")
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			m := new(stun.Message)
			if stun.Decode(append([]byte(nil), buf[:n]...), m) != nil || m.Type != stun.BindingRequest {
				continue
			}
			var user stun.Username
			if user.GetFrom(m) != nil || !strings.HasPrefix(user.String(), testRelayUfrag+":") ||
				stun.NewShortTermIntegrity(testRelayPwd).Check(m) != nil || stun.Fingerprint.Check(m) != nil {
				continue
			}
			f.mu.Lock()
			f.checks = append(f.checks, m)
			k := len(f.checks)
			f.mu.Unlock()
			if k <= f.dropFirst {
				continue
			}
			id := stun.NewTransactionIDSetter(m.TransactionID)
			var resp []byte
			if f.errCode != 0 {
				resp = response(t, id, stun.BindingError, stun.ErrorCode(f.errCode), key, stun.Fingerprint)
			} else {
				resp = response(t, id, stun.BindingSuccess,
					&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())}, key, stun.Fingerprint)
			}
			conn.WriteToUDPAddrPort(resp, from)
		}
	}()
	return f
}

func (f *fakeLite) params() ICEParams {
	return ICEParams{Ufrag: testRelayUfrag, Pwd: testRelayPwd, Lite: true,
		Candidate: f.conn.LocalAddr().(*net.UDPAddr).AddrPort()}
}

func (f *fakeLite) received() []*stun.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*stun.Message(nil), f.checks...)
}

// upstreamEndpoint is a simulated upstream socket with its read loop and
// an ICE agent toward relay.
func upstreamEndpoint(t *testing.T, st *Stats, relay ICEParams) (*endpoint, *iceAgent) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := newEndpoint(conn, DirDown, 1, true)
	go e.readLoop(st)
	t.Cleanup(e.close)
	a := newICEAgent(st, conn, iceCreds{ufrag: "UPufrag1", pwd: "upstreampasswordupstream"}, relay)
	e.ice.Store(a)
	return e, a
}

// TestICEConnect: the nominating check through a real socket and read
// loop, against relays that answer, answer late, refuse, forge or never
// answer.
func TestICEConnect(t *testing.T) {
	cases := []struct {
		name                 string
		relay                liteMode
		timeout              time.Duration
		err                  string
		minResends, answered uint64
		invalid              bool
	}{
		{"answered at once", liteMode{}, 2 * time.Second, "", 0, 1, false},
		{"two checks lost", liteMode{dropFirst: 2}, 2 * time.Second, "", 2, 1, false},
		{"role conflict", liteMode{errCode: 487}, 2 * time.Second, "error response 487", 0, 0, false},
		{"forged answers", liteMode{wrongKey: true}, 350 * time.Millisecond, "no success response", 2, 0, true},
		{"no answer", liteMode{dropFirst: 1 << 30}, 350 * time.Millisecond, "no success response", 2, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &Stats{}
			st.BeginEpoch(1)
			relay := newFakeLite(t, c.relay)
			_, a := upstreamEndpoint(t, st, relay.params())
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			err := a.connect(ctx)
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("connect: %v, want %q", err, c.err)
			}
			got := relay.received()
			if len(got) == 0 || !got[0].Contains(stun.AttrUseCandidate) {
				t.Fatal("the relay got no nominating check")
			}
			for _, m := range got[1:] {
				if m.TransactionID != got[0].TransactionID {
					t.Fatal("a retransmission changed the transaction ID (RFC 8489 §6.2.1)")
				}
			}
			time.Sleep(20 * time.Millisecond) // late answers to resends land
			tot := st.ICETotals()
			if tot.Sent != 1 || tot.Answered != c.answered || tot.Retransmits < c.minResends || (tot.Invalid > 0) != c.invalid {
				t.Fatalf("counters %+v", tot)
			}
			if w := st.ICEWindow(1); w.Sent != 1 || w.Answered != c.answered {
				t.Fatalf("epoch 1: %+v", w)
			}
			if c.relay.errCode != 0 && tot.ErrorResponses != 1 {
				t.Fatalf("error responses %d", tot.ErrorResponses)
			}
			if n := st.Invalid.Load(); n != 0 {
				t.Fatalf("STUN counted as invalid media: %d", n)
			}
		})
	}
}

// TestConsentChecks: the scheduler sends each agent its checks, without
// USE-CANDIDATE, spread out, each answered and credited to its epoch.
func TestConsentChecks(t *testing.T) {
	st := &Stats{}
	st.BeginEpoch(1)
	relay := newFakeLite(t, liteMode{})
	sc := &consentScheduler{interval: 100 * time.Millisecond}
	const agents = 3
	for range agents {
		_, a := upstreamEndpoint(t, st, relay.params())
		sc.add(a)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); sc.run(stop) }()
	time.Sleep(650 * time.Millisecond)
	close(stop)
	<-done
	time.Sleep(30 * time.Millisecond)
	// 650 ms, the first check within 100 ms, then one per 80-120 ms: 5
	// to 9 per agent. A late tick sends one check, never a catch-up
	// burst, so the maximum holds; a loaded machine may send fewer.
	tot := st.ICETotals()
	if tot.Sent < 3*agents || tot.Sent > 9*agents || tot.Answered != tot.Sent || tot.Invalid != 0 {
		t.Fatalf("counters %+v", tot)
	}
	if w := st.ICEWindow(1); w.Sent != tot.Sent || w.Answered != tot.Answered {
		t.Fatalf("epoch 1: %+v, totals %+v", w, tot)
	}
	seen := map[[stun.TransactionIDSize]byte]bool{}
	for _, m := range relay.received() {
		if m.Contains(stun.AttrUseCandidate) {
			t.Fatal("a consent check nominates")
		}
		if seen[m.TransactionID] {
			t.Fatal("a consent check reused a transaction ID")
		}
		seen[m.TransactionID] = true
	}
}

// TestReadLoopSTUN: STUN on a socket without an agent is invalid media;
// with one, a check from the relay (a full agent) is counted, not answered.
func TestReadLoopSTUN(t *testing.T) {
	key := stun.NewShortTermIntegrity(testRelayPwd)
	req := response(t, stun.TransactionID, stun.BindingRequest, stun.NewUsername("UPufrag1:RLYufrag"), key, stun.Fingerprint)
	st := &Stats{}
	st.BeginEpoch(1)
	relay := newFakeLite(t, liteMode{})
	withAgent, _ := upstreamEndpoint(t, st, relay.params())
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	plain := newEndpoint(conn, DirDown, 2, true)
	go plain.readLoop(st)
	defer plain.close()
	for _, e := range []*endpoint{withAgent, plain} {
		if _, err := relay.conn.WriteToUDPAddrPort(req, e.addr()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for (st.Invalid.Load() == 0 || st.ICETotals().RelayChecks == 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st.Invalid.Load() != 1 || st.ICETotals().RelayChecks != 1 {
		t.Fatalf("invalid media %d, relay checks %d", st.Invalid.Load(), st.ICETotals().RelayChecks)
	}
}

func TestCheckICEOffer(t *testing.T) {
	ok := Media{Mux: true, ICE: ICEParams{Ufrag: "u", Pwd: "p", Lite: true, Candidate: netip.MustParseAddrPort("127.0.0.3:30000")}}
	cases := []struct {
		name string
		mut  func(*Media)
		err  string
	}{
		{"srtpgw", func(*Media) {}, ""},
		{"no ICE at all", func(m *Media) { m.ICE = ICEParams{} }, "ice-ufrag"},
		{"no candidate", func(m *Media) { m.ICE.Candidate = netip.AddrPort{} }, "candidate"},
		{"no rtcp-mux", func(m *Media) { m.Mux = false }, "rtcp-mux"},
		{"full agent (rtpengine)", func(m *Media) { m.ICE.Lite = false }, "full ICE agent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := ok
			c.mut(&m)
			err := checkICEOffer(m)
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("err %v, want %q", err, c.err)
			}
		})
	}
}

func TestICECreds(t *testing.T) {
	a, b := newICECreds(), newICECreds()
	if len(a.ufrag) < 4 || len(a.pwd) < 22 || a == b {
		t.Fatalf("creds %+v %+v", a, b)
	}
	for _, s := range []string{a.ufrag, a.pwd} {
		if strings.Trim(s, iceChars) != "" {
			t.Fatalf("%q has characters outside ice-char (RFC 8839 §5.4)", s)
		}
	}
}

func TestICEConfig(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*Config)
		err  string
	}{
		{"ice", func(*Config) {}, ""},
		{"plain upstream", func(c *Config) { c.PlainUpstream = true }, "-ice needs"},
		{"no rtcp-mux", func(c *Config) { c.RTCPMux = false }, "-ice needs"},
		{"no consent interval", func(c *Config) { c.ICEConsentInterval = 0 }, "consent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ICE = true
			c.mut(&cfg)
			err := cfg.Validate()
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("err %v, want %q", err, c.err)
			}
		})
	}
}

func TestICEReport(t *testing.T) {
	plain, ice := sampleResult("srtpgw", 6), sampleResult("srtpgw-ice", 7)
	ice.ICE = true
	for i := range ice.Steps {
		ice.Steps[i].ICE = &ICEWindow{Sent: 1600, Answered: 1600}
	}
	ice.Counters.ICE = &ICECounters{Sent: 2200, Answered: 2200, Retransmits: 3}
	var md bytes.Buffer
	WriteMarkdown(&md, []*Result{plain, ice})
	out := md.String()
	for _, want := range []string{
		"| other CPU% | ICE checks sent/answered | pass |",
		"| 30.0 | 0 | - | yes |",
		"| 30.0 | 0 | 1600/1600 | yes |",
		"srtpgw-ice ICE: 2200 checks sent (setup and consent), 2200 answered; 3 retransmits",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	var only bytes.Buffer
	WriteMarkdown(&only, []*Result{plain})
	if strings.Contains(only.String(), "ICE") {
		t.Errorf("ICE column without -ice:\n%s", only.String())
	}
	if ok, _ := ice.Clean(); !ok {
		t.Fatal("clean ICE result not clean")
	}
	ice.Counters.ICE.Answered--
	if ok, why := ice.Clean(); ok || !strings.Contains(why, "2199 of 2200 checks answered") {
		t.Fatalf("unanswered check: Clean %v %q", ok, why)
	}
}
