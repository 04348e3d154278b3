package main

// SIGTERM under load: an orchestrator (systemd, Kubernetes) stops the
// gateway while 200 calls are up. Every call must still get its final
// call_end record (L1: no call without an end), the log must be signed and
// verifiable, and the process must exit 0 within the documented bound.

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/audit"
)

// buildSrtpgw builds this package's binary into a temp dir.
func buildSrtpgw(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "srtpgw")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// setupCalls sets up n calls over ng with `workers` proxies in parallel
// (each its own ng socket, as Kamailio's processes have) and checks that
// each carries media both ways.
func setupCalls(t *testing.T, ngAddr netip.AddrPort, n, workers int, prefix string) []*simCall {
	t.Helper()
	var (
		mu    sync.Mutex
		calls []*simCall
		errs  []error
		wg    sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		c, err := dialNG(ngAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Go(func() {
			for i := range next {
				sc, err := setupCall(c, fmt.Sprintf("%s-%d@clinic", prefix, i))
				if err == nil {
					if err = mediaBothWays(sc, 3); err != nil {
						sc.Close()
					}
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("call %d: %w", i, err))
				} else {
					calls = append(calls, sc)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Cleanup(func() {
		for _, sc := range calls {
			sc.Close()
		}
	})
	if len(errs) > 0 {
		t.Fatalf("%d of %d calls failed; first: %v", len(errs), n, errs[0])
	}
	return calls
}

// TestAbuseSIGTERMWith200Calls: the real binary with --max-sessions 0 and
// 200 live DTLS-SRTP calls (each checked to carry media both ways) gets
// SIGTERM. It exits 0 within shutdownBound, the call log holds exactly 200
// call_end records, all with end_reason shutdown, a shutdown record and a
// final checkpoint, and `srtpgw audit verify` with the public key passes.
func TestAbuseSIGTERMWith200Calls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and sets up 200 DTLS calls")
	}
	const calls = 200
	bin := buildSrtpgw(t)
	dir := t.TempDir()
	auditLog := filepath.Join(dir, "audit.jsonl")
	ngPort := freeUDPPort(t)
	cmd := exec.Command(bin, "--listen-ng", fmt.Sprintf("127.0.0.1:%d", ngPort), "--listen-http", "",
		"--port-min", "27100", "--port-max", "28999", "--max-sessions", "0", "--delete-delay", "0",
		"--audit-log", auditLog)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitUDP(t, ngPort)
	setupStart := time.Now()
	setupCalls(t, netip.AddrPortFrom(loopback, uint16(ngPort)), calls, 8, "term")
	t.Logf("%d calls set up and carrying media in %v", calls, time.Since(setupStart).Round(time.Millisecond))

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(shutdownBound + 5*time.Second):
		t.Fatalf("no exit within %v after SIGTERM\n%s", shutdownBound, logs.String())
	}
	t.Logf("exit 0 %v after SIGTERM with %d live calls", time.Since(start).Round(time.Millisecond), calls)

	recs := readRecords(t, auditLog)
	ends := pick(recs, "call_end", "")
	reasons := map[any]int{}
	ids := map[any]bool{}
	for _, r := range ends {
		reasons[r["end_reason"]]++
		ids[r["call"].(map[string]any)["call_id"]] = true
	}
	if len(ends) != calls || reasons["shutdown"] != calls || len(ids) != calls {
		t.Fatalf("%d call_end records (%d distinct calls) by reason %v, want %d with shutdown", len(ends), len(ids), reasons, calls)
	}
	if n := len(pick(recs, "dtls_established", "")); n != calls {
		t.Fatalf("%d dtls_established records, want %d", n, calls)
	}
	if len(pick(recs, "shutdown", "")) != 1 || recs[len(recs)-1]["type"] != "checkpoint" {
		t.Fatalf("log does not end with shutdown and a checkpoint: %v", recordTypes(recs[max(0, len(recs)-3):]))
	}
	files, err := audit.Files(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"audit", "verify", "--pubkey", filepath.Join(dir, "audit.key.pub")}, files...)
	var out bytes.Buffer
	verify := exec.Command(bin, args...)
	verify.Stdout, verify.Stderr = &out, &out
	if err := verify.Run(); err != nil || !strings.HasPrefix(out.String(), "OK:") {
		t.Fatalf("srtpgw audit verify: %v\n%s", err, out.String())
	}
	t.Logf("verify: %s", strings.TrimSpace(out.String()))
}
