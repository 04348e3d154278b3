package main

// The call log's disk fills up (an attacker floods something that logs, or
// the operator forgot rotation). srtpgw must never stop recording silently
// (L1, L3): while a record cannot be written it fails readiness, exports
// srtpgw_audit_healthy 0 and refuses new calls with `load limit` so the
// proxy fails over; once space returns, the held records land in order and
// the log verifies.

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// mountTmpfs mounts a tmpfs of size on a fresh temp dir and unmounts it
// when the test ends (after anything registered later, such as the daemon).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file until the file system is full and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			return path
		}
	}
}

// TestAbuseAuditDiskFull: the call log lives on a 256 KiB tmpfs that is
// then filled. Offers are admitted only until a record fails to be written
// (what is left of the log's last page still takes a few); from then on
// every new offer gets `result: load limit` (or the error without
// load-limit support), /readyz is 503 and srtpgw_audit_healthy 0, while the
// records of calls already admitted wait in memory. Deleting the filler
// brings readiness back within a few seconds, a fresh call works, nothing
// is lost, and the whole log verifies.
func TestAbuseAuditDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "256k")
	d, cfg := startTestDaemon(t, func(c *Config) {
		c.AuditLog = filepath.Join(dir, "audit.jsonl")
		c.PortMin, c.PortMax = 29000, 29199
	})
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if metric(t, d, "srtpgw_audit_healthy") != 1 || httpStatus(t, d, "/readyz") != http.StatusOK {
		t.Fatal("not healthy before the disk filled")
	}
	filler := fillDisk(t, dir)

	var admitted []string
	refusedAt := -1
	for i := 0; i < 40 && refusedAt < 0; i++ {
		id := "full-" + string(rune('a'+i)) + "@clinic"
		rep, err := offerOnly(t, c, id, true)
		if err != nil {
			t.Fatalf("offer %d: %v (want ok or load limit)", i, err)
		}
		switch r, _ := rep.Get("result").Str(); r {
		case "ok":
			admitted = append(admitted, id)
		case "load limit":
			if m, _ := rep.Get("message").Str(); m != "srtpgw is not ready: it cannot record calls" {
				t.Fatalf("load limit message %q", m)
			}
			refusedAt = i
		default:
			t.Fatalf("offer %d: %q", i, ng.Encode(rep))
		}
	}
	if refusedAt < 0 {
		t.Fatal("40 offers admitted on a full disk")
	}
	t.Logf("%d offers admitted after the disk filled (the log's last page had room), then load limit", len(admitted))
	if code := httpStatus(t, d, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d on a full disk, want 503", code)
	}
	if h := metric(t, d, "srtpgw_audit_healthy"); h != 0 {
		t.Fatalf("srtpgw_audit_healthy %v on a full disk", h)
	}
	if b := metric(t, d, "srtpgw_audit_backlog_records"); b < 1 {
		t.Fatalf("srtpgw_audit_backlog_records %v: the refused write is not held", b)
	}
	if rep, err := offerOnly(t, c, "no-support@clinic", false); err == nil || reasonOf(rep) != "srtpgw is not ready: it cannot record calls" {
		t.Fatalf("offer without load-limit support: %q %v", ng.Encode(rep), err)
	}
	// Calls admitted before the failure end normally; their call_end
	// records join the backlog.
	for _, id := range admitted {
		if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(id))); err != nil {
			t.Fatal(err)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	waitUntil(t, 5*time.Second, "readiness after space returned", func() bool {
		return httpStatus(t, d, "/readyz") == http.StatusOK && metric(t, d, "srtpgw_audit_healthy") == 1
	})
	t.Logf("ready again %v after the filler was deleted", time.Since(freed).Round(100*time.Millisecond))
	if b := metric(t, d, "srtpgw_audit_backlog_records"); b != 0 {
		t.Fatalf("backlog %v after recovery", b)
	}
	assertHealthy(t, d, "after-disk-full@clinic")

	d.shutdown("test")
	res := verifyLog(t, d, cfg.AuditLog)
	recs := readRecords(t, cfg.AuditLog)
	if lost := pick(recs, "records_lost", ""); len(lost) != 0 {
		t.Fatalf("records lost: %v", lost)
	}
	started, ended := map[any]bool{}, map[any]bool{}
	for _, r := range pick(recs, "call_start", "") {
		started[r["call"].(map[string]any)["call_id"]] = true
	}
	for _, r := range pick(recs, "call_end", "") {
		ended[r["call"].(map[string]any)["call_id"]] = true
	}
	for _, id := range admitted {
		if !started[id] || !ended[id] {
			t.Fatalf("call %s admitted on the full disk: call_start %v, call_end %v", id, started[id], ended[id])
		}
	}
	if started["no-support@clinic"] || len(started) != len(admitted)+1 {
		t.Fatalf("call_start records for %v; admitted %v plus the health-check call", started, admitted)
	}
	t.Logf("log verified: %d records", res.Records)
}
