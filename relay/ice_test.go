package relay

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/srtpgw/srtpgw/crypto"
)

var testCreds = iceCreds{ufrag: "srtpUfrg", pwd: "srtpgw-test-password-123456"}

// iceBench is a BenchPath whose upstream stream runs ICE-lite.
func iceBench(t *testing.T) *BenchPath {
	t.Helper()
	b, err := NewBenchPath(crypto.ProfileAEADAES128GCM)
	if err != nil {
		t.Fatal(err)
	}
	b.upstream.ice.Store(newICEStream(testCreds))
	b.upstream.remote.Store(nil) // with ICE the peer is unknown until nominated
	return b
}

// check builds a binding request as a full ICE agent sends it (RFC 8445
// §7.1.2): USERNAME, PRIORITY, ICE-CONTROLLING, optional USE-CANDIDATE,
// MESSAGE-INTEGRITY with the password given, FINGERPRINT.
func check(t *testing.T, username, password string, nominate, integrity bool) []byte {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(username),
		&rawAttr{stun.AttrPriority, []byte{0x6e, 0, 0x1e, 0xff}}, &rawAttr{stun.AttrICEControlling, make([]byte, 8)}}
	if nominate {
		setters = append(setters, &rawAttr{stun.AttrUseCandidate, nil})
	}
	if integrity {
		setters = append(setters, stun.NewShortTermIntegrity(password))
	}
	setters = append(setters, stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

type rawAttr struct {
	t stun.AttrType
	v []byte
}

func (a *rawAttr) AddTo(m *stun.Message) error { m.Add(a.t, a.v); return nil }

func TestICEValidCheckAnswered(t *testing.T) {
	b := iceBench(t)
	peer := netip.MustParseAddrPort("127.0.0.20:50000")
	out, sink, to, drop := b.upstream.handle(check(t, "srtpUfrg:peer", testCreds.pwd, false, true), peer, b.scratch)
	if drop != dropNone || out == nil || sink != b.upstream || to != peer {
		t.Fatalf("valid check: drop %v, %d bytes to %v", drop, len(out), to)
	}
	var resp stun.Message
	resp.Raw = append([]byte(nil), out...)
	if err := resp.Decode(); err != nil || resp.Type != stun.BindingSuccess {
		t.Fatalf("response: %v %v", err, resp.Type)
	}
	if err := stun.NewShortTermIntegrity(testCreds.pwd).Check(&resp); err != nil {
		t.Fatalf("response integrity: %v", err)
	}
	if err := stun.Fingerprint.Check(&resp); err != nil {
		t.Fatalf("response fingerprint: %v", err)
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(&resp); err != nil || xor.Port != 50000 || !xor.IP.Equal(peer.Addr().AsSlice()) {
		t.Fatalf("XOR-MAPPED-ADDRESS %v: %v", xor, err)
	}
	if b.upstream.Remote().IsValid() {
		t.Fatal("a check without USE-CANDIDATE moved the destination")
	}
}

// TestICERejectsBadChecks: checks that do not prove knowledge of srtpgw's
// password, or are not addressed to its ufrag, get no answer at all.
func TestICERejectsBadChecks(t *testing.T) {
	cases := []struct {
		name string
		pkt  func(t *testing.T) []byte
	}{
		{"wrong password", func(t *testing.T) []byte { return check(t, "srtpUfrg:peer", "not-the-password-at-all", true, true) }},
		{"no MESSAGE-INTEGRITY", func(t *testing.T) []byte { return check(t, "srtpUfrg:peer", "", true, false) }},
		{"wrong ufrag", func(t *testing.T) []byte { return check(t, "otherUfr:peer", testCreds.pwd, true, true) }},
		{"truncated", func(t *testing.T) []byte { return check(t, "srtpUfrg:peer", testCreds.pwd, true, true)[:30] }},
		{"bad fingerprint", func(t *testing.T) []byte {
			p := check(t, "srtpUfrg:peer", testCreds.pwd, true, true)
			p[len(p)-1] ^= 1
			return p
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := iceBench(t)
			peer := netip.MustParseAddrPort("127.0.0.20:50000")
			out, _, _, drop := b.upstream.handle(tc.pkt(t), peer, b.scratch)
			if out != nil || drop != DropICE {
				t.Fatalf("got %d bytes, drop %v; want no answer and ice_rejected", len(out), drop)
			}
			if b.upstream.Remote().IsValid() || b.upstream.ice.Load().validated(peer) {
				t.Fatal("a rejected check changed the stream")
			}
		})
	}
}

// TestICEStunWithoutICE: STUN on a leg without ICE is dropped unanswered.
func TestICEStunWithoutICE(t *testing.T) {
	b, _ := NewBenchPath(crypto.ProfileAEADAES128GCM)
	out, _, _, drop := b.upstream.handle(check(t, "srtpUfrg:peer", testCreds.pwd, true, true), b.upAt, b.scratch)
	if out != nil || drop != DropMalformed {
		t.Fatalf("got %d bytes, drop %v", len(out), drop)
	}
}

// TestICENominationAndConsent: a nominating check sets the destination;
// media flows while consent is fresh and stops when it expires (RFC 7675).
// Authenticated SRTP from an address that never passed a check does not
// move the destination.
func TestICENominationAndConsent(t *testing.T) {
	b := iceBench(t)
	peer := netip.MustParseAddrPort("127.0.0.20:50000")
	if _, _, _, drop := b.upstream.handle(check(t, "srtpUfrg:peer", testCreds.pwd, true, true), peer, b.scratch); drop != dropNone {
		t.Fatalf("nominating check: %v", drop)
	}
	if b.upstream.Remote() != peer {
		t.Fatalf("destination %v after nomination, want %v", b.upstream.Remote(), peer)
	}
	if _, err := b.PlainToSRTP(g711(1)); err != nil {
		t.Fatalf("media with fresh consent: %v", err)
	}

	// An authenticated packet from elsewhere is delivered but not followed.
	other := netip.MustParseAddrPort("127.0.0.21:50001")
	in, _ := b.PeerEncryptRTP(nil, g711(2))
	if _, _, _, drop := b.upstream.handle(in, other, b.scratch); drop != dropNone {
		t.Fatalf("authenticated SRTP from an unchecked address: %v", drop)
	}
	if b.upstream.Remote() != peer {
		t.Fatal("destination followed an address that never passed an ICE check")
	}

	// Consent expires 30 s after the last check: media stops.
	b.upstream.clock.ns.Add(int64(consentTimeout + time.Second))
	b.phone.clock.ns.Store(b.upstream.clock.ns.Load())
	if _, err := b.PlainToSRTP(g711(3)); err == nil {
		t.Fatal("media still sent after consent expired")
	}
	// A fresh check restores it.
	if _, _, _, drop := b.upstream.handle(check(t, "srtpUfrg:peer", testCreds.pwd, false, true), peer, b.scratch); drop != dropNone {
		t.Fatal(drop)
	}
	if _, err := b.PlainToSRTP(g711(4)); err != nil {
		t.Fatalf("media after consent refreshed: %v", err)
	}
}
