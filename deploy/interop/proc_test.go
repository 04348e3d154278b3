package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	var b strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		n    int
		want string
	}{
		{1, "line 100"},
		{3, "line 98\nline 99\nline 100"},
		{0, ""},
	}
	for _, tt := range tests {
		if got := Tail(path, tt.n); got != tt.want {
			t.Errorf("Tail(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got := Tail(path, 1000); strings.Count(got, "\n") != 99 {
		t.Errorf("Tail(1000) has %d lines", strings.Count(got, "\n")+1)
	}
	if got := Tail(filepath.Join(t.TempDir(), "missing"), 5); !strings.Contains(got, "no such file") {
		t.Errorf("Tail of a missing file = %q", got)
	}
}

// TestStopKillsTheGroup: a child that ignores SIGTERM is killed with its
// leader, so nothing a harness started outlives the test.
func TestStopKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	p := StartProc(t, dir, "sh", ProcOpts{Env: []string{"GREETING=ready"}}, "/bin/sh", "-c",
		`trap "" TERM; sleep 30 & echo "child $!"; echo "$GREETING"; wait`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.WaitLog(ctx, "ready"); err != nil {
		t.Fatal(err)
	}
	if p.Exited() {
		t.Fatal("exited early")
	}
	lines := p.GrepLog("child ")
	if len(lines) != 1 {
		t.Fatalf("GrepLog: %q", lines)
	}
	child, err := strconv.Atoi(strings.TrimPrefix(lines[0], "child "))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.Stop(syscall.SIGTERM, 200*time.Millisecond)
	if !p.Exited() || p.Err() == nil {
		t.Errorf("after Stop: exited %v, err %v", p.Exited(), p.Err())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %v", d)
	}
	// The child is gone, or a zombie waiting for a reaper that is not
	// ours; it must not be running.
	deadline := time.Now().Add(2 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d still running after Stop: %s", child, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.WaitLog(ctx, "never logged"); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("WaitLog after exit: %v", err)
	}
}

func TestWaitLogTimeout(t *testing.T) {
	p := StartProc(t, t.TempDir(), "sleep", ProcOpts{}, "sleep", "30")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.WaitLog(ctx, "never"); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("WaitLog = %v, want a deadline error", err)
	}
	// The cleanup registered by StartProc stops it; check it is running now.
	if p.Exited() {
		t.Error("sleep exited early")
	}
}
