package audit

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	mustNil(t, err)
	return fi.Size()
}

// TestDiskFullBacklog: writes fail, records wait in order in memory, the
// log reports unhealthy, and once the disk recovers the backlog lands in
// order with the chain intact.
func TestDiskFullBacklog(t *testing.T) {
	for _, short := range []bool{false, true} {
		name := "ENOSPC"
		if short {
			name = "short write"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			l := e.open()
			before := fileSize(t, e.cfg.Path)
			e.flt.set(func(f *faults) { f.write, f.short = errDiskFull, short })
			for i := 1; i <= 4; i++ {
				e.clk.Advance(time.Second)
				mustNil(t, l.CallStart(testCall(i))) // accepted: queued, not lost
			}
			if l.Healthy() || !errors.Is(l.Err(), syscall.ENOSPC) {
				t.Fatalf("Healthy %v Err %v, want unhealthy with ENOSPC", l.Healthy(), l.Err())
			}
			st := l.Stats()
			if st.Backlog != 4 || st.WriteErrors == 0 || st.Healthy || st.Records[typeCallStart] != 0 {
				t.Fatalf("stats while failing: %+v", st)
			}
			if e.flt.truncates == 0 && short {
				t.Fatal("partial record was not cut off")
			}
			if got := fileSize(t, e.cfg.Path); got != before {
				t.Fatalf("file grew from %d to %d while the disk was full (partial record left?)", before, got)
			}
			l.tick() // retry: still failing
			if l.Healthy() {
				t.Fatal("healthy while writes fail")
			}

			e.flt.set(func(f *faults) { f.write = nil })
			l.tick()
			if !l.Healthy() || l.Err() != nil {
				t.Fatalf("not healthy after recovery: %v", l.Err())
			}
			st = l.Stats()
			if st.Backlog != 0 || st.Records[typeCallStart] != 4 {
				t.Fatalf("stats after recovery: %+v", st)
			}
			mustNil(t, l.Shutdown("test"))
			e.mustVerify()
			starts := findRecords(t, e.files(), typeCallStart)
			for i, s := range starts {
				if uid := s["call"].(map[string]any)["uid"]; uid != testCall(i+1).UID {
					t.Fatalf("record %d is %v: backlog written out of order", i, uid)
				}
			}
		})
	}
}

// TestDiskFullBacklogOverflow: past BacklogMax records are refused with an
// error, counted, and the gap is itself recorded once writing resumes.
func TestDiskFullBacklogOverflow(t *testing.T) {
	e := newEnv(t)
	e.cfg.BacklogMax = 3
	l := e.open()
	e.flt.set(func(f *faults) { f.write = errDiskFull })
	var refused int
	for i := 1; i <= 6; i++ {
		err := l.CallStart(testCall(i))
		if errors.Is(err, ErrBacklogFull) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refused != 3 || l.Stats().Lost[typeCallStart] != 3 {
		t.Fatalf("refused %d, stats %+v", refused, l.Stats())
	}
	e.flt.set(func(f *faults) { f.write = nil })
	l.tick()
	mustNil(t, l.Shutdown("test"))
	e.mustVerify()
	lost := findRecords(t, e.files(), typeRecordsLost)
	if len(lost) != 1 || lost[0]["total"] != 3.0 || lost[0]["by_type"].(map[string]any)[typeCallStart] != 3.0 {
		t.Fatalf("records_lost: %v", lost)
	}
}

func TestFsyncFailure(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	e.flt.set(func(f *faults) { f.sync = syscall.EIO })
	mustNil(t, l.CallEnd(testCall(1), CallEnd{Reason: "delete"})) // written, not durable
	if l.Healthy() || !errors.Is(l.Err(), syscall.EIO) || l.Stats().SyncErrors != 1 {
		t.Fatalf("after failed fsync: healthy %v err %v stats %+v", l.Healthy(), l.Err(), l.Stats())
	}
	e.flt.set(func(f *faults) { f.sync = nil })
	l.tick()
	if !l.Healthy() {
		t.Fatalf("still unhealthy: %v", l.Err())
	}
	mustNil(t, l.Shutdown("test"))
	// The record was written exactly once.
	if n := len(findRecords(t, e.files(), typeCallEnd)); n != 1 {
		t.Fatalf("%d call_end records", n)
	}
	e.mustVerify()
}

// TestRotationFailure: the new file cannot be created; the rotation and
// everything after it wait, then complete in order.
func TestRotationFailure(t *testing.T) {
	e := newEnv(t)
	e.cfg.RotateSize = 1000
	l := e.open()
	e.flt.set(func(f *faults) { f.openErr = syscall.ENOSPC })
	for i := 1; i <= 6; i++ {
		mustNil(t, l.CallStart(testCall(i)))
	}
	if l.Healthy() {
		t.Fatal("healthy while rotation fails")
	}
	e.flt.set(func(f *faults) { f.openErr = nil })
	l.tick()
	if !l.Healthy() {
		t.Fatalf("unhealthy after recovery: %v", l.Err())
	}
	mustNil(t, l.Shutdown("test"))
	if len(e.files()) < 2 {
		t.Fatalf("no rotation happened: %v", e.files())
	}
	e.mustVerify()
}

func TestShutdownWithDiskFull(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	e.flt.set(func(f *faults) { f.write = errDiskFull })
	mustNil(t, l.CallStart(testCall(1)))
	err := l.Shutdown("test")
	if err == nil || !strings.Contains(err.Error(), "3 records unwritten") || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Shutdown: %v", err)
	}
	// What reached the disk is still a valid log: log_open and its
	// checkpoint.
	if res := e.mustVerify(); res.Records != 2 {
		t.Fatalf("records %d", res.Records)
	}
}
