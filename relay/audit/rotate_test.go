package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func rotatingLog(t *testing.T) *env {
	e := newEnv(t)
	e.cfg.RotateSize = 1500
	l := e.open()
	for i := 0; i < 20; i++ {
		e.clk.Advance(time.Second)
		c := testCall(i % 10)
		mustNil(t, l.CallStart(c))
		mustNil(t, l.CallEnd(c, CallEnd{Reason: "delete"}))
	}
	mustNil(t, l.Shutdown("test"))
	return e
}

func TestRotationContinuesChain(t *testing.T) {
	e := rotatingLog(t)
	files := e.files()
	if len(files) < 5 {
		t.Fatalf("want at least 5 files, got %d", len(files))
	}
	for i, f := range files {
		ls := lines(t, f)
		last, err := parseLine([]byte(ls[len(ls)-1]))
		mustNil(t, err)
		if i < len(files)-1 && last.typ != typeCheckpoint {
			t.Errorf("%s does not end with a checkpoint", filepath.Base(f))
		}
		if i == 0 {
			continue
		}
		first, err := parseLine([]byte(ls[0]))
		mustNil(t, err)
		prevLines := lines(t, files[i-1])
		want := sha256.Sum256([]byte(prevLines[len(prevLines)-1]))
		if first.typ != typeRotate || first.prev != want {
			t.Errorf("%s: first record %s prev %x, want rotate chained to %x", filepath.Base(f), first.typ, first.prev, want)
		}
		// The rotated name says where the file starts.
		if i < len(files)-1 {
			if seq, _ := rotatedSeq(e.cfg.Path, f); seq != first.seq {
				t.Errorf("%s: first seq %d", filepath.Base(f), first.seq)
			}
		}
	}
	res := e.mustVerify()
	if res.Files != len(files) || res.Unsigned != 0 {
		t.Fatalf("result %+v", res)
	}
	if res.Head != hex.EncodeToString(sha256ofLastLine(t, files[len(files)-1])) {
		t.Fatalf("head %s", res.Head)
	}
}

func sha256ofLastLine(t *testing.T, f string) []byte {
	ls := lines(t, f)
	sum := sha256.Sum256([]byte(ls[len(ls)-1]))
	return sum[:]
}

func TestRotationMissingMiddleFile(t *testing.T) {
	e := rotatingLog(t)
	files := e.files()
	mustNil(t, os.Remove(files[2]))
	_, err := Verify(slices.Delete(slices.Clone(files), 2, 3), testPub())
	wantVerifyError(t, err, files[3], 1, "seq jumps")
}

func TestRotationMissingFirstFile(t *testing.T) {
	e := rotatingLog(t)
	files := e.files()
	_, err := Verify(files[1:], testPub())
	wantVerifyError(t, err, files[1], 1, "log starts at seq")
}

func TestRotationFilesOutOfOrder(t *testing.T) {
	e := rotatingLog(t)
	files := e.files()
	files[1], files[2] = files[2], files[1]
	_, err := Verify(files, testPub())
	wantVerifyError(t, err, files[1], 1, "seq jumps")
}

func TestRotationTruncatedMiddleFile(t *testing.T) {
	e := rotatingLog(t)
	files := e.files()
	ls := lines(t, files[1])
	writeLines(t, files[1], ls[:len(ls)-1]) // drop its final checkpoint
	_, err := Verify(files, testPub())
	wantVerifyError(t, err, files[1], len(ls)-1, "does not end with a checkpoint")
}

func TestFilesOrder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.jsonl")
	for _, n := range []string{p, rotatedName(p, 120), rotatedName(p, 7), rotatedName(p, 1), p + ".lock", p + ".1", filepath.Join(dir, "other.jsonl.00000000000000000003")} {
		mustNil(t, os.WriteFile(n, nil, 0o600))
	}
	got, err := Files(p)
	mustNil(t, err)
	want := []string{rotatedName(p, 1), rotatedName(p, 7), rotatedName(p, 120), p}
	if !slices.Equal(got, want) {
		t.Fatalf("Files\n got %v\nwant %v", got, want)
	}
	if o := orderFiles([]string{p, want[2], want[0], want[1]}); !slices.Equal(o, want) {
		t.Fatalf("orderFiles %v", o)
	}
}
