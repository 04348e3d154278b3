package audit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// countingFile counts fsyncs, to observe the durability policy.
type countingFile struct {
	file
	syncs *int
	mu    *sync.Mutex
}

func (c countingFile) Sync() error {
	c.mu.Lock()
	*c.syncs++
	c.mu.Unlock()
	return c.file.Sync()
}

func TestFsyncPolicy(t *testing.T) {
	e := newEnv(t)
	var syncs int
	var mu sync.Mutex
	e.cfg.openFile = func(name string) (file, error) {
		f, err := openLogFile(name)
		return countingFile{f, &syncs, &mu}, err
	}
	l := e.open()
	count := func() int { mu.Lock(); defer mu.Unlock(); return syncs }
	tests := []struct {
		name  string
		write func() error
		sync  bool
	}{
		{"call_start", func() error { return l.CallStart(testCall(1)) }, false},
		{"dtls_established", func() error { return l.DTLSEstablished(testCall(1), DTLSInfo{}) }, false},
		{"dtls_failed", func() error { return l.DTLSFailed(testCall(1), "x") }, false},
		{"control_rejected", func() error { return l.ControlRejected(testCall(1).Phone, "offer", "", "x") }, false},
		{"call_end", func() error { return l.CallEnd(testCall(1), CallEnd{}) }, true},
		{"security", func() error { return l.Security(ReplayBurst, nil, SecurityDetail{}) }, true},
		{"startup", func() error { return l.Startup("v", "d", "") }, true},
	}
	for _, tc := range tests {
		before := count()
		mustNil(t, tc.write())
		if synced := count() > before; synced != tc.sync {
			t.Errorf("%s: fsynced=%v, want %v", tc.name, synced, tc.sync)
		}
		if !tc.sync {
			// The periodic tick flushes it.
			l.tick()
			if count() != before+1 {
				t.Errorf("%s: not fsynced by the next tick", tc.name)
			}
		}
	}
	mustNil(t, l.Shutdown("test"))
}

// TestPeriodicCheckpointWhenIdle: checkpoints are written every
// CheckpointEvery even with nothing else happening, bounding both the
// unsigned tail and the uncertainty of a crash time.
func TestPeriodicCheckpointWhenIdle(t *testing.T) {
	e := newEnv(t)
	e.cfg.CheckpointEvery = time.Minute
	l := e.open()
	mustNil(t, l.CallStart(testCall(1)))
	for i := 0; i < 3; i++ {
		e.clk.Advance(30 * time.Second)
		l.tick() // not due yet at 30s, due at 60s
		e.clk.Advance(30 * time.Second)
		l.tick()
	}
	cps := findRecords(t, e.files(), typeCheckpoint)
	if len(cps) != 4 { // open + 3 periodic
		t.Fatalf("%d checkpoints, want 4", len(cps))
	}
	if open := cps[3]["open"].([]any); len(open) != 1 || open[0] != "c1" {
		t.Fatalf("checkpoint open set %v", open)
	}
	if got := l.Stats().LastCheckpoint; got.Format(tsLayout) != cps[3]["ts"] {
		t.Fatalf("Stats.LastCheckpoint %v, last checkpoint %v", got, cps[3]["ts"])
	}
	crash(l)
	if res := e.mustVerify(); res.Unsigned != 0 {
		t.Fatalf("%+v", res)
	}
}

// TestClockStepsBack: ts never goes backwards, whatever the wall clock does.
func TestClockStepsBack(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	mustNil(t, l.CallStart(testCall(1)))
	e.clk.Advance(-time.Hour)
	mustNil(t, l.CallEnd(testCall(1), CallEnd{}))
	mustNil(t, l.Shutdown("test"))
	e.clk.Advance(-time.Hour) // and across a restart
	l = e.open()
	mustNil(t, l.Shutdown("test"))
	e.mustVerify()
}

func TestEventErrors(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	if err := l.CallStart(Call{}); !errors.Is(err, errNoUID) {
		t.Fatalf("CallStart without UID: %v", err)
	}
	mustNil(t, l.Shutdown("test"))
	if err := l.CallStart(testCall(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Shutdown: %v", err)
	}
	if err := l.Shutdown("again"); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Shutdown: %v", err)
	}
	if l.Healthy() || !errors.Is(l.Err(), ErrClosed) {
		t.Fatal("closed log reports healthy")
	}
}

// TestConcurrentAppends: records from many goroutines form one chain
// (run with -race).
func TestConcurrentAppends(t *testing.T) {
	e := newEnv(t)
	e.cfg.RotateSize = 4000
	l := e.open()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				c := testCall(0)
				c.UID = fmt.Sprintf("g%d-%d", g, i)
				if err := errors.Join(l.CallStart(c), l.CallEnd(c, CallEnd{Reason: "delete"})); err != nil {
					t.Error(err)
					return
				}
				_ = l.Stats()
				_ = l.Healthy()
			}
		}()
	}
	wg.Wait()
	mustNil(t, l.Shutdown("test"))
	res := e.mustVerify()
	if got := len(findRecords(t, e.files(), typeCallEnd)); got != 100 || res.Files < 2 {
		t.Fatalf("%d call_end records in %d files", got, res.Files)
	}
}

// TestBackgroundLoop: with the real clock, the loop writes checkpoints
// by itself. The assertion waits for an event; it does not time anything.
func TestBackgroundLoop(t *testing.T) {
	e := newEnv(t)
	e.cfg.Now = nil
	e.cfg.SyncInterval = 5 * time.Millisecond
	e.cfg.CheckpointEvery = 10 * time.Millisecond
	l := e.open()
	first := l.Stats().LastCheckpoint
	deadline := time.Now().Add(10 * time.Second)
	for !l.Stats().LastCheckpoint.After(first) {
		if time.Now().After(deadline) {
			t.Fatal("no periodic checkpoint from the background loop")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mustNil(t, l.Shutdown("test"))
	e.mustVerify()
}
