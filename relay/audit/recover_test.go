package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// findRecords returns the lines of the given type across files, parsed
// into generic maps for field checks.
func findRecords(t *testing.T, files []string, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range files {
		for _, ln := range lines(t, f) {
			var m map[string]any
			mustNil(t, json.Unmarshal([]byte(ln), &m))
			if m["type"] == typ {
				out = append(out, m)
			}
		}
	}
	return out
}

func TestCrashRecovery(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	c1, c2 := testCall(1), testCall(2)
	mustNil(t, l.CallStart(c1))
	e.clk.Advance(time.Second)
	mustNil(t, l.CallStart(c2))
	e.clk.Advance(time.Second)
	mustNil(t, l.CallEnd(c2, CallEnd{Reason: "delete"}))
	lastTS := tsOf(lines(t, e.cfg.Path)[4])
	crash(l) // kill -9: no shutdown record, no final checkpoint

	e.clk.Advance(time.Hour)
	l = e.open()
	defer l.Shutdown("test")
	opens := findRecords(t, e.files(), typeLogOpen)
	if len(opens) != 2 || opens[1]["previous"] != prevCrashed || opens[1]["recovered_calls"] != 1.0 {
		t.Fatalf("log_open records: %v", opens)
	}
	ends := findRecords(t, e.files(), typeCallEnd)
	if len(ends) != 2 {
		t.Fatalf("want 2 call_end records, got %d", len(ends))
	}
	rec := ends[1]
	call := rec["call"].(map[string]any)
	if rec["end_reason"] != EndReasonGatewayRestart || call["uid"] != "c1" || call["call_id"] != c1.CallID ||
		call["phone"] != "10.0.0.5:16384" {
		t.Fatalf("recovered call_end: %v", rec)
	}
	// End time: the last record the dead process wrote.
	if rec["end"] != lastTS || rec["duration_ms"] != 2000.0 {
		t.Fatalf("recovered end %v duration %v, want %s and 2000", rec["end"], rec["duration_ms"], lastTS)
	}
	res := e.mustVerify()
	if res.Unsigned != 0 {
		t.Fatalf("recovery is not signed at once: %+v", res)
	}
}

// TestCrashRecoveryAcrossRotation: the open call's call_start is several
// files back; the rotate header of the newest file carries it, so Open
// recovers the call with its parties without reading older files.
func TestCrashRecoveryAcrossRotation(t *testing.T) {
	e := newEnv(t)
	e.cfg.RotateSize = 2000
	l := e.open()
	c1 := testCall(1)
	c1.CallID = "long-call@clinic"
	mustNil(t, l.CallStart(c1))
	for i := 0; i < 30; i++ {
		e.clk.Advance(time.Second)
		mustNil(t, l.ControlRejected(testCall(2).Phone, "offer", "other@pbx", "Unknown call-id"))
	}
	crash(l)
	files := e.files()
	if len(files) < 4 {
		t.Fatalf("want several rotations, got %v", files)
	}
	// Move every older file away: Open must not need them.
	aside := t.TempDir()
	for _, f := range files[:len(files)-1] {
		mustNil(t, os.Rename(f, aside+"/"+strings.TrimPrefix(f, e.dir+"/")))
	}
	e.clk.Advance(time.Minute)
	l = e.open()
	mustNil(t, l.Shutdown("test"))
	for _, f := range files[:len(files)-1] {
		mustNil(t, os.Rename(aside+"/"+strings.TrimPrefix(f, e.dir+"/"), f))
	}
	ends := findRecords(t, e.files(), typeCallEnd)
	if len(ends) != 1 || ends[0]["end_reason"] != EndReasonGatewayRestart {
		t.Fatalf("call_end records: %v", ends)
	}
	if got := ends[0]["call"].(map[string]any); got["uid"] != "c1" || got["call_id"] != "long-call@clinic" || got["from_tag"] != c1.FromTag {
		t.Fatalf("recovered call lost its parties: %v", got)
	}
	starts := findRecords(t, e.files(), typeCallStart)
	if ends[0]["start"] != starts[0]["ts"] {
		t.Fatalf("recovered start %v, call_start ts %v", ends[0]["start"], starts[0]["ts"])
	}
	e.mustVerify()
}

func TestCleanRestart(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	mustNil(t, l.CallStart(testCall(1)))
	mustNil(t, l.CallEnd(testCall(1), CallEnd{Reason: "delete"}))
	mustNil(t, l.Shutdown("test"))
	l = e.open()
	mustNil(t, l.Shutdown("test"))
	opens := findRecords(t, e.files(), typeLogOpen)
	if len(opens) != 2 || opens[1]["previous"] != prevClean || opens[1]["recovered_calls"] != 0.0 {
		t.Fatalf("log_open: %v", opens)
	}
	if res := e.mustVerify(); res.Records != 10 {
		t.Fatalf("records %d", res.Records)
	}
}

// TestTornTailRepair: power loss left half a record. Open cuts it off and
// says so (length and hash) in log_open; the log verifies.
func TestTornTailRepair(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	mustNil(t, l.CallStart(testCall(1)))
	crash(l)
	torn := `{"seq":4,"ts":"2025-03-14T09:26:53.58`
	f, err := os.OpenFile(e.cfg.Path, os.O_APPEND|os.O_WRONLY, 0)
	mustNil(t, err)
	_, err = f.WriteString(torn)
	mustNil(t, err)
	mustNil(t, f.Close())

	l = e.open()
	mustNil(t, l.Shutdown("test"))
	opens := findRecords(t, e.files(), typeLogOpen)
	sum := sha256.Sum256([]byte(torn))
	if opens[1]["torn_bytes"] != float64(len(torn)) || opens[1]["torn_sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("log_open: %v", opens[1])
	}
	e.mustVerify()
}

func TestOpenRefusesCorruptLog(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	mustNil(t, l.CallStart(testCall(1)))
	crash(l)
	ls := lines(t, e.cfg.Path)
	ls[1] = strings.Replace(ls[1], `"reason":"open"`, `"reason":"opem"`, 1)
	writeLines(t, e.cfg.Path, ls)
	_, err := Open(e.cfg)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "audit.jsonl:3") {
		t.Fatalf("want ErrCorrupt at line 3, got %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	defer l.Shutdown("test")
	if _, err := Open(e.cfg); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

// TestRestartAfterRenameBeforeCreate: the process died after renaming the
// active file during rotation but before creating the new one.
func TestRestartAfterRenameBeforeCreate(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	mustNil(t, l.CallStart(testCall(1)))
	mustNil(t, l.Shutdown("test"))
	mustNil(t, os.Rename(e.cfg.Path, rotatedName(e.cfg.Path, 1)))
	l = e.open()
	mustNil(t, l.Shutdown("test"))
	files := e.files()
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	hdr := findRecords(t, files[1:], typeRotate)
	if len(hdr) != 1 || len(hdr[0]["open_calls"].([]any)) != 1 {
		t.Fatalf("rotate header: %v", hdr)
	}
	e.mustVerify()
}
