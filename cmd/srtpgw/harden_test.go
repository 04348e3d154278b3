package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHardenInProcess: after harden, the process is not dumpable and may
// write no core file (security requirement A10).
func TestHardenInProcess(t *testing.T) {
	if err := harden(); err != nil {
		t.Fatal(err)
	}
	d, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_DUMPABLE, 0, 0)
	if errno != 0 || d != 0 {
		t.Fatalf("PR_GET_DUMPABLE = %d (%v), want 0", d, errno)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err != nil || lim.Cur != 0 || lim.Max != 0 {
		t.Fatalf("RLIMIT_CORE = %+v (%v), want 0/0", lim, err)
	}
}

// TestBinaryNoCoreNoDebugEndpoint: the running daemon reports a core limit
// of 0, dies on SIGABRT (GOTRACEBACK=crash, core limit raised by the parent)
// without leaving a core file, and serves no pprof or other debug endpoint.
func TestBinaryNoCoreNoDebugEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSrtpgw(t)
	dir := t.TempDir()
	ngPort := freeUDPPort(t)
	httpAddr := freeTCPAddr(t)
	cmd := exec.Command(bin, "--listen-ng", fmt.Sprintf("127.0.0.1:%d", ngPort), "--listen-http", httpAddr,
		"--port-min", "24000", "--port-max", "24999", "--audit-log", filepath.Join(dir, "audit.jsonl"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTRACEBACK=crash")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	// Let the child start with cores allowed: srtpgw itself must lower it.
	syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 1 << 30, Max: 1 << 30})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if err := pingNG(ngPort, 15*time.Second); err != nil {
		cmd.Process.Kill()
		cmd.Wait() // logs is complete once the process is reaped
		t.Fatalf("daemon not answering ng: %v\n%s", err, logs.String())
	}

	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			if f := strings.Fields(line); len(f) < 6 || f[4] != "0" || f[5] != "0" {
				t.Fatalf("daemon core limit: %q, want 0 0", line)
			}
		}
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/vars"} {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: %s, want 404", path, resp.Status)
		}
	}
	cmd.Process.Signal(syscall.SIGABRT)
	cmd.Wait()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "core") {
			t.Fatalf("core file %s left after SIGABRT", e.Name())
		}
	}
}

// freeTCPAddr is a loopback TCP address nothing listens on (an HTTP
// listener's port must be free for TCP, not only for UDP).
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
