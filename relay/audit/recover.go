package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rotatedName is the name a file gets when it is rotated: the active path,
// a dot and the 20-digit seq of its first record, so names sort in chain
// order and say where each file starts.
func rotatedName(path string, firstSeq uint64) string {
	return fmt.Sprintf("%s.%020d", path, firstSeq)
}

// rotatedSeq returns the first-record seq encoded in a rotated file name.
func rotatedSeq(active, name string) (uint64, bool) {
	suffix, ok := strings.CutPrefix(name, active+".")
	if !ok || len(suffix) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(suffix, 10, 64)
	return n, err == nil
}

// Files lists the files of the log at path in chain order: rotated files
// by the seq in their names, then the active file if it exists. Pass the
// result to Verify.
func Files(path string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("audit: list log files: %w", err)
	}
	type named struct {
		name string
		seq  uint64
	}
	var rot []named
	active := false
	for _, e := range ents {
		full := filepath.Join(filepath.Dir(path), e.Name())
		if e.Name() == filepath.Base(path) {
			active = true
			continue
		}
		if seq, ok := rotatedSeq(filepath.Join(filepath.Dir(path), filepath.Base(path)), full); ok && e.Type().IsRegular() {
			rot = append(rot, named{full, seq})
		}
	}
	slices.SortFunc(rot, func(a, b named) int { return cmpUint(a.seq, b.seq) })
	out := make([]string, 0, len(rot)+1)
	for _, r := range rot {
		out = append(out, r.name)
	}
	if active {
		out = append(out, filepath.Join(filepath.Dir(path), filepath.Base(path)))
	}
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// scanState is what Open learns from the newest non-empty file.
type scanState struct {
	seq        uint64
	head       [32]byte
	lastTS     time.Time
	lastType   string
	lastReason string
	lastCP     time.Time
	lastKey    string // key id of the last checkpoint
	open       map[string]openCall

	activeSize     int64
	activeFirstSeq uint64
	activeDay      int
	prevFile       string // base name of the newest rotated file

	torn    int64 // bytes of an incomplete final record that were cut off
	tornSum [32]byte
}

func (s *scanState) previous() string {
	switch {
	case s.seq == 0:
		return prevNone
	case s.lastType == typeCheckpoint && s.lastReason == cpShutdown:
		return prevClean
	}
	return prevCrashed
}

// scan reads the newest non-empty log file. Only that file is needed:
// the first record of every non-first file (the rotate header) lists the
// calls open at that point with their parties, and the rest of the file
// replays from there. A final line without its newline (power loss
// during write) is cut off and its length and hash are reported in
// log_open; any other defect is ErrCorrupt.
func scan(path string) (*scanState, error) {
	st := &scanState{open: make(map[string]openCall)}
	files, err := Files(path)
	if err != nil {
		return nil, err
	}
	for i := len(files) - 1; i >= 0; i-- {
		if files[i] != path && st.prevFile == "" {
			st.prevFile = filepath.Base(files[i])
		}
	}
	for i := len(files) - 1; i >= 0; i-- {
		name := files[i]
		fi, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		if fi.Size() == 0 {
			continue
		}
		size, err := st.readFile(name, st.torn == 0)
		if err != nil {
			return nil, err
		}
		if size == 0 { // held only a torn record
			continue
		}
		if name == path {
			st.activeSize = size
		} else { // the active file is missing or empty: a new one starts
			st.activeFirstSeq, st.activeDay = 0, 0
		}
		break
	}
	return st, nil
}

// readFile replays one file into st and returns its size (after cutting
// off a torn final record when repair is set).
func (st *scanState) readFile(name string, repair bool) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	lr := newLineReader(f)
	var size int64
	for {
		b, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errNoNewline) && repair {
			st.torn = int64(len(b))
			st.tornSum = sha256.Sum256(b)
			if err := os.Truncate(name, size); err != nil {
				return 0, fmt.Errorf("audit: cut torn record: %w", err)
			}
			break
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %s:%d: %v", ErrCorrupt, name, lr.line, err)
		}
		if err := st.apply(b, size == 0); err != nil {
			return 0, fmt.Errorf("%w: %s:%d: %v", ErrCorrupt, name, lr.line, err)
		}
		size += int64(len(b)) + 1
	}
	return size, nil
}

// Views of the record fields recovery needs.
type callLine struct {
	Call callRec `json:"call"`
}

type rotateLine struct {
	OpenCalls []struct {
		Start string  `json:"start"`
		Call  callRec `json:"call"`
	} `json:"open_calls"`
}

func (st *scanState) apply(b []byte, first bool) error {
	r, err := parseLine(b)
	if err != nil {
		return err
	}
	switch {
	case first && r.seq == 1:
		if r.typ != typeLogOpen || r.prev != zeroHash {
			return errors.New("first record is not a genesis log_open")
		}
	case first:
		if r.typ != typeRotate {
			return errors.New("file does not start with a rotate record")
		}
	case r.seq != st.seq+1:
		return fmt.Errorf("seq %d follows %d", r.seq, st.seq)
	case r.prev != st.head:
		return errors.New("prev does not match the previous record")
	}
	switch r.typ {
	case typeCallStart:
		var c callLine
		if err := json.Unmarshal(b, &c); err != nil || c.Call.UID == "" {
			return errors.New("call_start without call uid")
		}
		st.open[c.Call.UID] = openCall{start: r.ts, call: c.Call}
	case typeCallEnd:
		var c callLine
		if err := json.Unmarshal(b, &c); err != nil {
			return errors.New("bad call_end")
		}
		delete(st.open, c.Call.UID)
	case typeRotate:
		var h rotateLine
		if err := json.Unmarshal(b, &h); err != nil {
			return errors.New("bad rotate header")
		}
		clear(st.open)
		for _, oc := range h.OpenCalls {
			start, _ := time.Parse(tsLayout, oc.Start)
			st.open[oc.Call.UID] = openCall{start: start, call: oc.Call}
		}
	case typeCheckpoint:
		st.lastCP = r.ts
		st.lastKey = r.f.Key
	}
	if first {
		st.activeFirstSeq = r.seq
		st.activeDay = utcDay(r.ts)
	}
	st.seq, st.head, st.lastTS = r.seq, sha256.Sum256(b), r.ts
	st.lastType, st.lastReason = r.typ, r.f.Reason
	return nil
}

// recoverLocked writes Open's records: (rotation if due), log_open, one
// call_end per call left open, and a checkpoint that signs them at once.
//
// A recovered call's end time is the ts of the last record the dead
// process wrote: a lower bound on when it stopped relaying, within
// CheckpointEvery of its death because checkpoints are written even when
// idle. The log_open ts is the upper bound. Packet counters of such a
// call are unknown and written as 0.
func (l *Log) recoverLocked(st *scanState) {
	l.opening = true
	defer func() { l.opening = false }()
	ts := l.nowLocked()
	if l.fileBytes > 0 && ((l.cfg.RotateSize > 0 && l.fileBytes >= l.cfg.RotateSize) ||
		(l.cfg.RotateDaily && utcDay(ts) != l.fileDay)) {
		l.rotateLocked(ts)
	}
	l.housekeepLocked(ts)
	previous, every, redacted := st.previous(), l.cfg.CheckpointEvery.Milliseconds(), l.redactKey != nil
	l.emitLocked(typeLogOpen, ts, func(b []byte) []byte {
		b = field(b, "previous")
		b = appendString(b, previous)
		b = field(b, "checkpoint_every_ms")
		b = appendInt(b, every)
		b = field(b, "key")
		b = appendString(b, l.keyID)
		b = field(b, "redacted")
		b = appendBool(b, redacted)
		b = field(b, "recovered_calls")
		b = appendInt(b, int64(len(l.open)))
		b = field(b, "torn_bytes")
		b = appendInt(b, st.torn)
		b = field(b, "torn_sha256")
		if st.torn == 0 {
			return appendString(b, "")
		}
		return appendString(b, hex.EncodeToString(st.tornSum[:]))
	}, true)
	for _, uid := range slices.Sorted(maps.Keys(l.open)) {
		oc := l.open[uid]
		end := CallEnd{Start: oc.start, End: st.lastTS, Reason: EndReasonGatewayRestart}
		if end.End.Before(end.Start) {
			end.End = end.Start
		}
		l.emitLocked(typeCallEnd, ts, func(b []byte) []byte {
			return appendCallEnd(b, &oc.call, &end)
		}, true)
		delete(l.open, uid)
	}
	l.emitCheckpointLocked(ts, cpOpen)
	l.updateHealthLocked()
}
