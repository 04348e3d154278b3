package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// baseLog writes one complete run and returns its lines:
//
//	1 log_open  2 checkpoint(open)  3 startup  4 call_start c1
//	5 call_start c2  6 dtls_established c1  7 checkpoint(periodic)
//	8 call_end c1  9 call_start c3  10 checkpoint(periodic)
//	11 call_end c2  12 shutdown  13 checkpoint(shutdown)
func baseLog(t *testing.T) (*env, []string) {
	e := newEnv(t)
	l := e.open()
	c1, c2, c3 := testCall(1), testCall(2), testCall(3)
	step := func() { e.clk.Advance(time.Second) }
	step()
	mustNil(t, l.Startup("v1", "sha256:00", ""))
	step()
	mustNil(t, l.CallStart(c1))
	mustNil(t, l.CallStart(c2))
	mustNil(t, l.DTLSEstablished(c1, DTLSInfo{Leg: LegUpstream, Component: 1, Role: RoleClient, Profile: "SRTP_AES128_CM_HMAC_SHA1_80"}))
	e.clk.Advance(6 * time.Minute)
	mustNil(t, l.CallEnd(c1, CallEnd{Reason: "delete", PhoneToUpstream: Direction{Packets: 21000}}))
	mustNil(t, l.CallStart(c3))
	e.clk.Advance(6 * time.Minute)
	mustNil(t, l.CallEnd(c2, CallEnd{Reason: "timeout"}))
	mustNil(t, l.Shutdown("test"))
	ls := lines(t, e.cfg.Path)
	want := []string{typeLogOpen, typeCheckpoint, typeStartup, typeCallStart, typeCallStart, typeDTLSEstablished,
		typeCheckpoint, typeCallEnd, typeCallStart, typeCheckpoint, typeCallEnd, typeShutdown, typeCheckpoint}
	if got := recordTypes(t, ls); !slices.Equal(got, want) {
		t.Fatalf("base log types\n got %v\nwant %v", got, want)
	}
	return e, ls
}

func recordTypes(t testing.TB, ls []string) []string {
	t.Helper()
	var out []string
	for i, ln := range ls {
		r, err := parseLine([]byte(ln))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		out = append(out, r.typ)
	}
	return out
}

// rechain is the attacker without the key: renumber seq, recompute every
// prev, and optionally re-sign checkpoints with a key of their own.
func rechain(ls []string, resign ed25519.PrivateKey) []string {
	out := make([]string, len(ls))
	var prev [32]byte
	for i, ln := range ls {
		ln = fmt.Sprintf(`{"seq":%d`, i+1) + ln[strings.IndexByte(ln, ','):]
		j := strings.LastIndex(ln, `,"prev":"`) + len(`,"prev":"`)
		ln = ln[:j] + hex.EncodeToString(prev[:]) + ln[j+64:]
		if resign != nil && strings.Contains(ln, `"type":"checkpoint"`) {
			body := ln[:j+65]
			sig := ed25519.Sign(resign, checkpointMessage(uint64(i+1), prev, []byte(body)))
			ln = body + `,"sig":"` + hex.EncodeToString(sig) + `"}`
		}
		out[i] = ln
		prev = sha256.Sum256([]byte(ln))
	}
	return out
}

func tsOf(ln string) string {
	i := strings.Index(ln, `"ts":"`) + len(`"ts":"`)
	return ln[i : i+len(tsLayout)]
}

func without(ls []string, idx ...int) []string {
	var out []string
	for i, ln := range ls {
		if !slices.Contains(idx, i+1) {
			out = append(out, ln)
		}
	}
	return out
}

func TestVerifyBaseLog(t *testing.T) {
	e, _ := baseLog(t)
	res := e.mustVerify()
	if res.Records != 13 || res.Checkpoints != 4 || res.Unsigned != 0 || res.LastSeq != 13 || !res.Signed {
		t.Fatalf("result %+v", res)
	}
	// Without a key only the chain and structure are checked.
	res, err := Verify(e.files(), nil)
	if err != nil || res.Signed || res.Records != 13 {
		t.Fatalf("unsigned verify: %+v %v", res, err)
	}
	// With somebody else's key, the first checkpoint fails.
	_, other, _ := ed25519.GenerateKey(nil)
	_, err = Verify(e.files(), other.Public().(ed25519.PublicKey))
	wantVerifyError(t, err, e.cfg.Path, 2, "names key")
}

// TestVerifyMutations: each tampering is caught at the record that was
// tampered with (or, where the evidence can only show up later, at the
// first record that proves it), named by file and line.
func TestVerifyMutations(t *testing.T) {
	_, attacker, _ := ed25519.GenerateKey(nil)
	edit := func(n int, old, new string) func([]string) []string {
		return func(ls []string) []string {
			ls = slices.Clone(ls)
			if !strings.Contains(ls[n-1], old) {
				panic(fmt.Sprintf("line %d has no %q", n, old))
			}
			ls[n-1] = strings.Replace(ls[n-1], old, new, 1)
			return ls
		}
	}
	tests := []struct {
		name   string
		mutate func([]string) []string
		line   int
		reason string
	}{
		{"flip a counter digit", edit(8, `"packets":21000`, `"packets":91000`), 8, "record altered"},
		{"flip a byte that breaks JSON", edit(6, `"role":"client"`, `"role":"client`), 6, "malformed"},
		{"flip a byte in a checkpoint", edit(7, `"open":["c1","c2"]`, `"open":["c1","c9"]`), 7, "signature invalid"},
		{"flip prev after a signed checkpoint", func(ls []string) []string {
			ls = slices.Clone(ls)
			j := strings.LastIndex(ls[7], `"prev":"`) + len(`"prev":"`)
			c := byte('0')
			if ls[7][j] == '0' {
				c = '1'
			}
			ls[7] = ls[7][:j] + string(c) + ls[7][j+1:]
			return ls
		}, 8, "prev does not match the previous record"},
		{"delete a record", func(ls []string) []string { return without(ls, 9) }, 9, "seq jumps from 8 to 10"},
		{"delete the first record", func(ls []string) []string { return without(ls, 1) }, 1, "log starts at seq 2"},
		{"swap two records", func(ls []string) []string {
			ls = slices.Clone(ls)
			ls[3], ls[4] = ls[4], ls[3]
			return ls
		}, 4, "seq jumps from 3 to 5"},
		{"duplicate a record", func(ls []string) []string {
			return slices.Insert(slices.Clone(ls), 4, ls[3])
		}, 5, "seq 4 after seq 4"},
		{"cut a record in half", func(ls []string) []string {
			ls = slices.Clone(ls)
			ls[7] = ls[7][:len(ls[7])/2]
			return ls
		}, 8, "malformed"},
		{"truncate the final checkpoint", func(ls []string) []string { return ls[:12] }, 12, "without its checkpoint"},
		{"append after the final checkpoint", func(ls []string) []string {
			extra := strings.Replace(ls[3], tsOf(ls[3]), tsOf(ls[12]), 1)
			return rechain(append(slices.Clone(ls), extra), nil)
		}, 14, "after the final checkpoint"},
		{"backdate a record", func(ls []string) []string {
			return rechain(edit(9, tsOf(ls[8]), tsOf(ls[0]))(ls), nil)
		}, 9, "ts goes backwards"},
		{"rewrite: alter and re-chain, keep signatures",
			func(ls []string) []string { return rechain(edit(8, `"packets":21000`, `"packets":91000`)(ls), nil) },
			10, "signature invalid: records after " + "audit.jsonl:7"},
		{"rewrite: alter, re-chain and re-sign with another key",
			func(ls []string) []string {
				return rechain(edit(8, `"packets":21000`, `"packets":91000`)(ls), attacker)
			},
			2, "signature invalid"},
		{"rewrite: remove every checkpoint", func(ls []string) []string {
			return rechain(without(ls, 2, 7, 10, 13), nil)
		}, 2, "log_open not followed by its checkpoint"},
		{"rewrite: alter the last call, drop the checkpoint after it", func(ls []string) []string {
			return rechain(without(edit(11, `"end_reason":"timeout"`, `"end_reason":"delete"`)(ls), 13), nil)
		}, 12, "without its checkpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ls := baseLog(t)
			writeLines(t, e.cfg.Path, tc.mutate(ls))
			_, err := e.verify()
			reason := strings.ReplaceAll(tc.reason, "audit.jsonl", filepath.Join(e.dir, "audit.jsonl"))
			wantVerifyError(t, err, e.cfg.Path, tc.line, reason)
		})
	}
}

func TestVerifyTornTail(t *testing.T) {
	e, ls := baseLog(t)
	data := strings.Join(ls, "\n") + "\n"
	data = data[:len(data)-40] // cut into the last record, no newline
	mustNil(t, os.WriteFile(e.cfg.Path, []byte(data), 0o600))
	_, err := e.verify()
	wantVerifyError(t, err, e.cfg.Path, 13, "no trailing newline")
}

// TestVerifyUnsignedTailRewrite: in a log whose writer is still running
// (or died), an attacker alters a record and drops the checkpoints after
// it. The records they leave behind are then further from the last
// remaining checkpoint than CheckpointEvery allows.
func TestVerifyUnsignedTailRewrite(t *testing.T) {
	e := newEnv(t)
	l := e.open()
	c1, c2 := testCall(1), testCall(2)
	mustNil(t, l.CallStart(c1))
	e.clk.Advance(6 * time.Minute)
	mustNil(t, l.CallEnd(c1, CallEnd{Reason: "delete", PhoneToUpstream: Direction{Packets: 21000}}))
	e.clk.Advance(6 * time.Minute)
	mustNil(t, l.CallStart(c2))
	crash(l)
	ls := lines(t, e.cfg.Path)
	want := []string{typeLogOpen, typeCheckpoint, typeCallStart, typeCheckpoint, typeCallEnd, typeCheckpoint, typeCallStart}
	if got := recordTypes(t, ls); !slices.Equal(got, want) {
		t.Fatalf("types %v", got)
	}
	if res := e.mustVerify(); res.Unsigned != 1 {
		t.Fatalf("untouched log: %+v", res)
	}
	ls[4] = strings.Replace(ls[4], `"packets":21000`, `"packets":1`, 1)
	writeLines(t, e.cfg.Path, rechain(without(ls, 6), nil))
	_, err := e.verify()
	wantVerifyError(t, err, e.cfg.Path, 6, "after the last checkpoint")
}

// TestVerifyTruncatedTailLimit documents the limit: cutting whole records
// off the unsigned end of the newest file (here, back to a checkpoint)
// leaves a valid prefix. Verify cannot know more records existed; the
// Result says where the log ends so an auditor can compare it with a
// checkpoint exported off-box.
func TestVerifyTruncatedTailLimit(t *testing.T) {
	e, ls := baseLog(t)
	writeLines(t, e.cfg.Path, ls[:10])
	res := e.mustVerify()
	if res.LastSeq != 10 || res.LastCheckpointSeq != 10 || res.Unsigned != 0 {
		t.Fatalf("result %+v", res)
	}
}
