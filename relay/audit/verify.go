package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Result summarises a successful (or partial) verification.
type Result struct {
	Files       int
	Records     int  // records that passed every check
	Checkpoints int  // checkpoints seen (signature-checked when Signed)
	Signed      bool // a public key was given, so signatures were checked

	LastSeq uint64
	Head    string // hex SHA-256 of the last record's line

	LastCheckpointSeq  uint64
	LastCheckpointTime time.Time
	// Unsigned counts the records after the last checkpoint. They are
	// chain-checked only: an attacker who can write the file can rewrite
	// them (and cut them off) undetected. Compare LastSeq/Head with a
	// checkpoint exported off-box to close that gap.
	Unsigned int
}

// VerifyError locates the first bad record and says what is wrong.
type VerifyError struct {
	File   string
	Line   int    // 1-based; 0 = the file as a whole
	Seq    uint64 // seq of the bad record, 0 if unknown
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// Verify checks the log files in chain order (Files gives it for a path)
// against the rules in FORMAT.md: every line well-formed, seq consecutive
// from 1, each prev the SHA-256 of the previous line, ts non-decreasing,
// every checkpoint signed by pub, the run and file structure intact, and
// no record more than CheckpointEvery after the last checkpoint. With a
// nil pub, signatures are not checked (Result.Signed is false).
//
// When the log is bad the error is a *VerifyError and Result counts the
// records that passed before it; other errors (a file that cannot be
// opened) are plain.
func Verify(files []string, pub ed25519.PublicKey) (Result, error) {
	v := newVerifier(pub)
	if len(files) == 0 {
		return v.res, errors.New("audit: verify: no files")
	}
	for i, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return v.res, fmt.Errorf("audit: verify: %w", err)
		}
		err = v.file(name, f, i == len(files)-1)
		f.Close()
		if err != nil {
			return v.res, err
		}
	}
	return v.finish()
}

type runState int

const (
	stStart       runState = iota // before the genesis record
	stRun                         // ordinary records
	stAfterOpen                   // after log_open: recovered call_ends, then a checkpoint
	stAfterStop                   // after shutdown: its checkpoint must follow
	stAfterSealed                 // after the shutdown checkpoint: only rotate/log_open
)

type verifier struct {
	pub   ed25519.PublicKey
	keyID string
	res   Result

	seq      uint64
	head     [32]byte
	lastTS   time.Time
	lastType string
	state    runState
	every    time.Duration
	ref      time.Time // ts of the last checkpoint (or log_open) in this run
	fileNo   int

	prevFile   string // location of the previous record
	prevLine   int
	prevSigned bool // the previous record is a checkpoint with a valid signature
	lastCPFile string
	lastCPLine int
	stopFile   string // location of the last shutdown record
	stopLine   int
	lastFile   string
}

func newVerifier(pub ed25519.PublicKey) *verifier {
	v := &verifier{pub: pub}
	if pub != nil {
		v.keyID = KeyID(pub)
		v.res.Signed = true
	}
	return v
}

func (v *verifier) fail(file string, line int, seq uint64, format string, args ...any) error {
	return &VerifyError{File: file, Line: line, Seq: seq, Reason: fmt.Sprintf(format, args...)}
}

func (v *verifier) file(name string, r io.Reader, last bool) error {
	v.fileNo++
	v.res.Files++
	v.lastFile = name
	lr := newLineReader(r)
	first := true
	for {
		b, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return v.fail(name, lr.line, 0, "%v", err)
		}
		if err := v.record(name, lr.line, b, first); err != nil {
			return err
		}
		first = false
	}
	if first {
		if !last {
			return v.fail(name, 0, 0, "empty file in the middle of the log")
		}
		return nil
	}
	if !last && v.lastType != typeCheckpoint {
		return v.fail(name, lr.line, v.seq,
			"file does not end with a checkpoint: records cut off the end of this file?")
	}
	return nil
}

func (v *verifier) record(file string, line int, b []byte, first bool) error {
	r, err := parseLine(b)
	if err != nil {
		return v.fail(file, line, 0, "malformed record: %v", err)
	}
	if err := v.chain(file, line, &r); err != nil {
		return err
	}
	if err := v.structure(file, line, &r, first); err != nil {
		return err
	}
	signed := false
	switch r.typ {
	case typeCheckpoint:
		if err := v.checkpoint(file, line, &r); err != nil {
			return err
		}
		signed = v.pub != nil
	case typeLogOpen, typeRotate:
	default:
		if d := r.ts.Sub(v.ref); d > v.every {
			return v.fail(file, line, r.seq, "record is %v after the last checkpoint (limit %v): checkpoints removed?", d, v.every)
		}
	}
	v.seq, v.head, v.lastTS, v.lastType = r.seq, sha256.Sum256(b), r.ts, r.typ
	v.prevFile, v.prevLine, v.prevSigned = file, line, signed
	v.res.Records++
	if r.typ == typeCheckpoint {
		v.res.Unsigned = 0
	} else {
		v.res.Unsigned++
	}
	return nil
}

// chain checks seq, prev and ts against the previous record.
func (v *verifier) chain(file string, line int, r *record) error {
	if v.seq == 0 {
		if r.seq != 1 {
			return v.fail(file, line, r.seq, "log starts at seq %d, not 1: earlier records or files missing", r.seq)
		}
		if r.prev != zeroHash {
			return v.fail(file, line, r.seq, "first record's prev is not 64 zeros")
		}
		return nil
	}
	switch {
	case r.seq <= v.seq:
		return v.fail(file, line, r.seq, "seq %d after seq %d: records reordered or duplicated", r.seq, v.seq)
	case r.seq > v.seq+1:
		return v.fail(file, line, r.seq, "seq jumps from %d to %d: records or files missing, or out of order", v.seq, r.seq)
	}
	if r.prev != v.head {
		if v.prevSigned {
			// The previous record is authenticated, so this one is wrong.
			return v.fail(file, line, r.seq, "prev does not match the previous record (%s:%d)", v.prevFile, v.prevLine)
		}
		v.res.Records--
		return v.fail(v.prevFile, v.prevLine, v.seq,
			"record altered: its SHA-256 does not match prev in the next record (%s:%d)", file, line)
	}
	if r.ts.Before(v.lastTS) {
		return v.fail(file, line, r.seq, "ts goes backwards")
	}
	return nil
}

// structure checks where a record may appear: file headers, and the
// lifecycle of a run (log_open ... shutdown, checkpoint).
func (v *verifier) structure(file string, line int, r *record, first bool) error {
	if first && v.fileNo > 1 && r.typ != typeRotate {
		return v.fail(file, line, r.seq, "file does not start with a rotate record")
	}
	if r.typ == typeRotate {
		if !first || v.fileNo == 1 {
			return v.fail(file, line, r.seq, "rotate record not at the start of a file")
		}
		return nil // transparent to the run state
	}
	want := ""
	switch v.state {
	case stStart:
		want = prevNone
		if r.typ != typeLogOpen {
			return v.fail(file, line, r.seq, "log does not start with log_open")
		}
	case stAfterOpen:
		if r.typ == typeCallEnd && r.f.EndReason == EndReasonGatewayRestart {
			return nil
		}
		if r.typ != typeCheckpoint && r.typ != typeLogOpen {
			return v.fail(file, line, r.seq, "log_open not followed by its checkpoint: checkpoints removed?")
		}
		want = prevCrashed
	case stAfterStop:
		if !(r.typ == typeCheckpoint && r.f.Reason == cpShutdown) && r.typ != typeLogOpen {
			return v.fail(file, line, r.seq, "shutdown record not followed by its checkpoint")
		}
		want = prevCrashed
	case stAfterSealed:
		if r.typ != typeLogOpen {
			return v.fail(file, line, r.seq, "%s record after the final checkpoint of a run", r.typ)
		}
		want = prevClean
	default:
		want = prevCrashed
	}
	switch r.typ {
	case typeLogOpen:
		if r.f.Previous != want {
			return v.fail(file, line, r.seq, "log_open says previous run %q, the log shows %q", r.f.Previous, want)
		}
		if r.f.CheckpointEvery == nil || *r.f.CheckpointEvery <= 0 {
			return v.fail(file, line, r.seq, "log_open without checkpoint_every_ms")
		}
		v.every = time.Duration(*r.f.CheckpointEvery) * time.Millisecond
		v.ref = r.ts
		v.state = stAfterOpen
	case typeShutdown:
		v.state = stAfterStop
		v.stopFile, v.stopLine = file, line
	case typeCheckpoint:
		v.state = stRun
		if r.f.Reason == cpShutdown {
			v.state = stAfterSealed
		}
	}
	return nil
}

func (v *verifier) checkpoint(file string, line int, r *record) error {
	switch r.f.Reason {
	case cpPeriodic, cpOpen, cpRotate, cpShutdown:
	default:
		return v.fail(file, line, r.seq, "checkpoint with unknown reason %q", r.f.Reason)
	}
	if v.pub != nil {
		since := "the start of the log"
		if v.lastCPFile != "" {
			since = fmt.Sprintf("%s:%d", v.lastCPFile, v.lastCPLine)
		}
		if r.f.Key != v.keyID {
			return v.fail(file, line, r.seq, "checkpoint names key %q, verifying with key %q: records after %s not authenticated", r.f.Key, v.keyID, since)
		}
		if len(r.sig) != ed25519.SignatureSize || !ed25519.Verify(v.pub, checkpointMessage(r.seq, r.prev, r.signed), r.sig) {
			return v.fail(file, line, r.seq, "checkpoint signature invalid: records after %s were altered or re-chained", since)
		}
	}
	v.ref = r.ts
	v.lastCPFile, v.lastCPLine = file, line
	v.res.Checkpoints++
	v.res.LastCheckpointSeq = r.seq
	v.res.LastCheckpointTime = r.ts
	return nil
}

func (v *verifier) finish() (Result, error) {
	if v.seq == 0 {
		return v.res, &VerifyError{File: v.lastFile, Reason: "no records"}
	}
	if v.state == stAfterStop {
		return v.res, v.fail(v.stopFile, v.stopLine, 0,
			"log ends after a shutdown record without its checkpoint: truncated?")
	}
	v.res.LastSeq = v.seq
	v.res.Head = hex.EncodeToString(v.head[:])
	return v.res, nil
}
