package audit

import (
	"net/netip"
	"testing"
	"time"
)

type noSyncFile struct{ file }

func (noSyncFile) Sync() error { return nil }

// BenchmarkCallEnd measures CallEnd appends: serialise, hash, write(2)
// and, per the durability policy, fsync(2) — so on a real disk this is
// bounded by the device's fsync rate. The nofsync variant isolates the
// CPU cost of the log itself.
func BenchmarkCallEnd(b *testing.B) {
	for _, tc := range []struct {
		name  string
		fsync bool
	}{{"fsync", true}, {"nofsync", false}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b)
			if !tc.fsync {
				e.cfg.openFile = func(name string) (file, error) {
					f, err := openLogFile(name)
					return noSyncFile{f}, err
				}
			}
			l := e.open()
			c := testCall(1)
			c.PhoneLocal = append(c.PhoneLocal, netip.MustParseAddrPort("10.0.0.1:30001"))
			end := CallEnd{
				Start: e.clk.Now(), End: e.clk.Now().Add(3 * time.Minute), Reason: "delete",
				PhoneToUpstream: Direction{Packets: 9000, Bytes: 1548000, Drops: map[string]uint64{"no_keys": 3}},
				UpstreamToPhone: Direction{Packets: 8990, Bytes: 1546280, Drops: map[string]uint64{"auth": 1, "replay": 2}},
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := l.CallEnd(c, end); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.StopTimer()
			if err := l.Shutdown("bench"); err != nil {
				b.Fatal(err)
			}
		})
	}
}
