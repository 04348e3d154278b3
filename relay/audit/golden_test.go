package audit

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden*.jsonl")

// goldenScenario writes every record type with a fixed clock and key:
// two runs, a clean shutdown with a call left open, a disk-full episode
// with a lost record, a daily rotation and a crash. It returns the log's
// files in order.
func goldenScenario(t testing.TB) []string {
	e := newEnv(t)
	e.cfg.RotateDaily = true
	e.cfg.BacklogMax = 2
	c1, c2, c3, c4 := testCall(1), testCall(2), testCall(3), testCall(4)
	c2.ToTag = ""
	tick := func() { e.clk.Advance(1500 * time.Microsecond) }

	l := e.open()
	tick()
	mustNil(t, l.Startup("srtpgw 0.1.0", "sha256:5d41402abc4b2a76b9719d911017c592",
		"sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3C:B1:D4:38:55:4D:2C:9D:F8:6C:E3:E0"))
	tick()
	mustNil(t, l.CallStart(c1))
	tick()
	mustNil(t, l.DTLSEstablished(c1, DTLSInfo{
		Leg: LegUpstream, Component: 1, Role: RoleServer,
		Profile: "SRTP_AEAD_AES_128_GCM", CipherSuite: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		PeerFingerprint: "sha-256 19:E5:7C:AB:3C:B1:D4:38:55:4D:2C:9D:F8:6C:E3:E0:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B",
		Handshake:       42 * time.Millisecond,
	}))
	tick()
	mustNil(t, l.CallStart(c2))
	tick()
	mustNil(t, l.DTLSFailed(c2, "handshake timeout after 10s"))
	tick()
	mustNil(t, l.Security(RogueSourceBurst, &c1, SecurityDetail{
		Leg: LegPhone, Source: netip.MustParseAddrPort("10.0.0.66:5060"), Count: 120, Window: 10 * time.Second,
		Reason: "media from an unexpected source",
	}))
	tick()
	mustNil(t, l.Security(DTLSFlood, nil, SecurityDetail{Leg: LegUpstream, Count: 5000, Window: time.Second}))
	tick()
	mustNil(t, l.ControlRejected(netip.MustParseAddrPort("127.0.0.1:40123"), "start recording", "rec-1@pbx", "Unsupported command: would weaken confidentiality"))

	// Disk full: two records wait in the backlog, the third is refused.
	e.flt.set(func(f *faults) { f.write = errDiskFull })
	for i := 0; i < 3; i++ {
		tick()
		err := l.ControlRejected(netip.MustParseAddrPort("127.0.0.1:40124"), "offer", "x@pbx", "Unknown call-id\n\"quoted\" \u2028")
		if (i < 2) != (err == nil) {
			t.Fatalf("ControlRejected %d: %v", i, err)
		}
	}
	e.flt.set(func(f *faults) { f.write = nil })

	e.clk.Advance(6 * time.Minute) // the next record needs a periodic checkpoint first
	mustNil(t, l.CallEnd(c1, CallEnd{
		Start: e.clk.Now().Add(-7 * time.Minute), End: e.clk.Now(), Reason: "delete",
		PhoneToUpstream: Direction{Packets: 21000, Bytes: 3612000, Drops: map[string]uint64{"no_keys": 3, "malformed": 1}},
		UpstreamToPhone: Direction{Packets: 20990, Bytes: 3610280, Drops: map[string]uint64{"auth": 2, "replay": 5}},
	}))
	tick()
	mustNil(t, l.Shutdown("signal: terminated")) // c2 is still open

	e.clk.Advance(time.Minute)
	l = e.open() // clean previous run; c2 closed as gateway_restart
	tick()
	mustNil(t, l.CallStart(c3))
	e.clk.Advance(24 * time.Hour) // daily rotation before the next record
	mustNil(t, l.CallStart(c4))
	crash(l)

	e.clk.Advance(time.Minute)
	l = e.open() // crashed previous run; c3 and c4 closed
	tick()
	mustNil(t, l.Shutdown("signal: interrupt"))
	return e.files()
}

func TestGolden(t *testing.T) {
	files := goldenScenario(t)
	if len(files) != 2 {
		t.Fatalf("want 2 files after one rotation, got %v", files)
	}
	for i, f := range files {
		got, err := os.ReadFile(f)
		mustNil(t, err)
		golden := filepath.Join("testdata", []string{"golden.jsonl", "golden-2.jsonl"}[i])
		if *update {
			mustNil(t, os.WriteFile(golden, got, 0o644))
			continue
		}
		want, err := os.ReadFile(golden)
		mustNil(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (run with -update only if the format change is intended and FORMAT.md says so)\ngot:\n%s", f, golden, got)
		}
	}
	// The frozen files themselves verify with the fixed key.
	res, err := Verify([]string{"testdata/golden.jsonl", "testdata/golden-2.jsonl"}, testPub())
	if err != nil {
		t.Fatalf("golden files do not verify: %v", err)
	}
	if res.Unsigned != 0 || res.Files != 2 {
		t.Errorf("golden: %+v, want fully signed, 2 files", res)
	}
}
