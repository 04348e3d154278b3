package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// checkpointDomain separates checkpoint signatures from any other use of
// the key (an Ed25519 key must never sign two kinds of message that could
// be confused).
const checkpointDomain = "srtpgw audit checkpoint v1\x00"

// checkpointMessage is what a checkpoint signs: the domain, its own seq
// (8 bytes big-endian), the chain head it commits to (prev: the SHA-256 of
// the previous record's line) and the SHA-256 of its own line up to the
// end of prev, so the reason, key id and open-call list are signed too.
func checkpointMessage(seq uint64, prev [32]byte, body []byte) []byte {
	sum := sha256.Sum256(body)
	m := make([]byte, 0, len(checkpointDomain)+8+32+32)
	m = append(m, checkpointDomain...)
	m = binary.BigEndian.AppendUint64(m, seq)
	m = append(m, prev[:]...)
	return append(m, sum[:]...)
}

// nowLocked is the timestamp for the next record: wall clock in UTC,
// truncated to the µs the format carries, and never before the previous
// record, so ts is non-decreasing along the whole chain even if the clock
// steps back (NTP).
func (l *Log) nowLocked() time.Time {
	t := l.cfg.Now().UTC().Truncate(time.Microsecond)
	if t.Before(l.lastTS) {
		t = l.lastTS
	}
	return t
}

func utcDay(t time.Time) int {
	y, m, d := t.UTC().Date()
	return y*10000 + int(m)*100 + d
}

// event appends one caller record: housekeeping first (backlog retry,
// rotation, due checkpoint, records_lost), then the record. apply runs
// under the lock after the record was accepted or refused for a full
// backlog (open-call bookkeeping).
func (l *Log) event(typ string, sync bool, body func([]byte) []byte, apply func(ts time.Time, accepted bool)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.drainLocked()
	ts := l.nowLocked()
	if l.backlogLenLocked() >= l.cfg.BacklogMax {
		l.lost[typ]++
		l.lostPend[typ]++
		if l.lostFirst.IsZero() {
			l.lostFirst = ts
		}
		l.lostLast = ts
		if apply != nil {
			apply(ts, false)
		}
		return fmt.Errorf("%w (%d queued): %v", ErrBacklogFull, l.backlogLenLocked(), l.err)
	}
	l.housekeepLocked(ts)
	l.emitLocked(typ, ts, body, sync)
	if apply != nil {
		apply(ts, true)
	}
	l.updateHealthLocked()
	return nil
}

// housekeepLocked emits the records that must precede a record at ts.
// The due-checkpoint rule is what the verifier checks: no record other
// than log_open/rotate is more than CheckpointEvery after the last
// checkpoint (FORMAT.md, rule V7).
func (l *Log) housekeepLocked(ts time.Time) {
	if !l.opening && l.fileBytes > 0 {
		if (l.cfg.RotateSize > 0 && l.fileBytes >= l.cfg.RotateSize) ||
			(l.cfg.RotateDaily && utcDay(ts) != l.fileDay) {
			l.rotateLocked(ts)
		}
	}
	if l.needHeader {
		l.emitHeaderLocked(ts)
	}
	if l.opening {
		return
	}
	if ts.Sub(l.lastCP) >= l.cfg.CheckpointEvery {
		l.emitCheckpointLocked(ts, cpPeriodic)
	}
	if len(l.lostPend) > 0 {
		l.emitLostLocked(ts)
	}
}

// emitLocked serialises one record, links it into the chain and hands it
// to the writer. Layout: {"seq":N,"ts":"…","type":"…"<body>,"prev":"…"}
// and, for checkpoints, ,"sig":"…" before the closing brace.
func (l *Log) emitLocked(typ string, ts time.Time, body func([]byte) []byte, sync bool) {
	seq := l.seq + 1
	b := append(l.buf[:0], `{"seq":`...)
	b = appendUint(b, seq)
	b = field(b, "ts")
	b = appendTime(b, ts)
	b = field(b, "type")
	b = appendString(b, typ)
	b = body(b)
	b = field(b, "prev")
	b = append(b, '"')
	b = hex.AppendEncode(b, l.head[:])
	b = append(b, '"')
	if typ == typeCheckpoint {
		sig := ed25519.Sign(l.priv, checkpointMessage(seq, l.head, b))
		b = append(b, `,"sig":"`...)
		b = hex.AppendEncode(b, sig)
		b = append(b, '"')
	}
	b = append(b, '}')
	l.head = sha256.Sum256(b)
	b = append(b, '\n')
	l.buf = b
	l.seq = seq
	l.lastTS = ts
	l.lastType = typ
	if l.fileBytes == 0 {
		l.fileDay = utcDay(ts)
		l.fileFirstSeq = seq
	}
	l.fileBytes += int64(len(b))
	l.pushLocked(entry{line: b, typ: typ, ts: ts, sync: sync})
}

func (l *Log) emitCheckpointLocked(ts time.Time, reason string) {
	uids := slices.Sorted(maps.Keys(l.open))
	l.emitLocked(typeCheckpoint, ts, func(b []byte) []byte {
		b = field(b, "reason")
		b = appendString(b, reason)
		b = field(b, "key")
		b = appendString(b, l.keyID)
		b = field(b, "open")
		return appendStrings(b, uids)
	}, true)
	l.lastCP = ts
}

// rotateLocked ends the current file with a checkpoint (unless the last
// record already is one), so every closed file is fully signed, and queues
// the rename. The next record is the new file's rotate header.
func (l *Log) rotateLocked(ts time.Time) {
	if l.lastType != typeCheckpoint {
		l.emitCheckpointLocked(ts, cpRotate)
	}
	to := rotatedName(l.cfg.Path, l.fileFirstSeq)
	l.pushLocked(entry{rotateTo: to})
	l.prevFile = filepath.Base(to)
	l.fileBytes = 0
	l.needHeader = true
}

// emitHeaderLocked writes the first record of a non-first file: the name
// of its predecessor and every open call with its parties and start time,
// so crash recovery never needs to read older files.
func (l *Log) emitHeaderLocked(ts time.Time) {
	l.needHeader = false
	uids := slices.Sorted(maps.Keys(l.open))
	l.emitLocked(typeRotate, ts, func(b []byte) []byte {
		b = field(b, "previous_file")
		b = appendString(b, l.prevFile)
		b = field(b, "open_calls")
		b = append(b, '[')
		for i, uid := range uids {
			if i > 0 {
				b = append(b, ',')
			}
			oc := l.open[uid]
			b = append(b, `{"start":`...)
			b = appendTime(b, oc.start)
			b = field(b, "call")
			b = appendCall(b, &oc.call)
			b = append(b, '}')
		}
		return append(b, ']')
	}, true)
}

// emitLostLocked reports records refused while the backlog was full, so a
// gap in the log is itself on the record (never silent).
func (l *Log) emitLostLocked(ts time.Time) {
	var total uint64
	for _, n := range l.lostPend {
		total += n
	}
	pend, first, last := l.lostPend, l.lostFirst, l.lostLast
	l.emitLocked(typeRecordsLost, ts, func(b []byte) []byte {
		b = field(b, "total")
		b = appendUint(b, total)
		b = field(b, "by_type")
		b = appendCounts(b, pend)
		b = field(b, "first")
		b = appendTime(b, first)
		b = field(b, "last")
		return appendTime(b, last)
	}, true)
	l.lostPend = make(map[string]uint64)
	l.lostFirst, l.lostLast = time.Time{}, time.Time{}
}

// pushLocked writes e now if nothing is queued ahead of it, else (or if
// the write fails) appends a private copy to the backlog.
func (l *Log) pushLocked(e entry) {
	if len(l.queue) == 0 && l.writeEntryLocked(&e) == nil {
		return
	}
	if e.line != nil {
		e.line = bytes.Clone(e.line)
	}
	l.queue = append(l.queue, e)
}

// drainLocked writes the backlog in order, stopping at the first failure.
func (l *Log) drainLocked() {
	for len(l.queue) > 0 {
		if l.writeEntryLocked(&l.queue[0]) != nil {
			break
		}
		l.queue[0] = entry{}
		l.queue = l.queue[1:]
	}
	if len(l.queue) == 0 {
		l.queue = nil
	}
	l.updateHealthLocked()
}

// writeEntryLocked performs one backlog item. It returns nil once the item
// is done (a record whose fsync then fails is done: it must not be written
// twice; the failure shows in Healthy until a later fsync succeeds).
//
// Durability policy: one write(2) per record on an O_APPEND descriptor;
// records with sync set (log_open, checkpoint, rotate, records_lost,
// startup, shutdown, call_end, security) are fsynced before the method
// that wrote them returns; the others within SyncInterval.
func (l *Log) writeEntryLocked(e *entry) error {
	if l.needTrunc {
		// Cut off the partial record a short write left, or the next
		// record would be glued onto it and the chain broken.
		if err := l.f.Truncate(l.size); err != nil {
			return l.failLocked(fmt.Errorf("truncate partial record: %w", err))
		}
		l.needTrunc = false
	}
	if e.line == nil {
		return l.rotateFileLocked(e.rotateTo)
	}
	n, err := l.f.Write(e.line)
	if err == nil && n != len(e.line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			l.needTrunc = true
			if l.f.Truncate(l.size) == nil {
				l.needTrunc = false
			}
		}
		return l.failLocked(fmt.Errorf("write: %w", err))
	}
	l.size += int64(n)
	l.dirty = true
	l.written[e.typ]++
	l.lastWrite = l.cfg.Now()
	if e.typ == typeCheckpoint {
		l.lastCPWritten = e.ts
	}
	if e.sync {
		l.syncLocked()
	}
	return nil
}

func (l *Log) syncLocked() {
	if err := l.f.Sync(); err != nil {
		// After a failed fsync the kernel may already have dropped the
		// dirty pages (the "fsyncgate" behaviour on Linux), so this is
		// reported, not papered over: unhealthy until an fsync succeeds.
		l.syncErrors++
		l.syncFail = true
		l.err = fmt.Errorf("audit: fsync: %w", err)
		return
	}
	l.dirty = false
	l.syncFail = false
	l.lastSync = l.cfg.Now()
}

func (l *Log) failLocked(err error) error {
	l.writeErrors++
	l.err = fmt.Errorf("audit: %w", err)
	return l.err
}

// rotateFileLocked renames the current file to its rotated name and opens
// a fresh active file. Each step is retried from where it failed.
func (l *Log) rotateFileLocked(to string) error {
	if l.dirty {
		l.syncLocked()
		if l.syncFail {
			return l.err
		}
	}
	if l.curName != to {
		if _, err := os.Stat(to); err == nil {
			return l.failLocked(fmt.Errorf("rotate: %s already exists", to))
		}
		if err := os.Rename(l.curName, to); err != nil {
			return l.failLocked(fmt.Errorf("rotate: %w", err))
		}
		l.curName = to
	}
	if fi, err := os.Stat(l.cfg.Path); err == nil && fi.Size() > 0 {
		return l.failLocked(fmt.Errorf("rotate: %s reappeared with data", l.cfg.Path))
	}
	nf, err := l.cfg.openFile(l.cfg.Path)
	if err != nil {
		return l.failLocked(fmt.Errorf("rotate: %w", err))
	}
	if err := l.f.Close(); err != nil {
		l.cfg.Logger.Warn("audit: closing rotated file", "err", err)
	}
	l.f, l.curName, l.size = nf, l.cfg.Path, 0
	if err := syncDir(filepath.Dir(l.cfg.Path)); err != nil {
		l.cfg.Logger.Warn("audit: cannot sync log directory", "err", err)
	}
	return nil
}

func (l *Log) backlogLenLocked() int {
	n := 0
	for i := range l.queue {
		if l.queue[i].line != nil {
			n++
		}
	}
	return n
}

func (l *Log) updateHealthLocked() {
	ok := len(l.queue) == 0 && !l.needTrunc && !l.syncFail
	if ok != l.healthy {
		if ok {
			l.cfg.Logger.Info("audit: log writable again")
		} else {
			l.cfg.Logger.Error("audit: log not writable; records held in memory",
				"err", l.err, "backlog", l.backlogLenLocked())
		}
	}
	l.healthy = ok
}

// tick runs every SyncInterval: retry the backlog, fsync what is dirty,
// and write the periodic checkpoint. Checkpoints are written even when
// idle, so the last record of a process that dies bounds its time of
// death to within CheckpointEvery (used by crash recovery).
func (l *Log) tick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.drainLocked()
	if l.dirty || l.syncFail {
		l.syncLocked()
	}
	ts := l.nowLocked()
	if l.backlogLenLocked() < l.cfg.BacklogMax &&
		(len(l.lostPend) > 0 || ts.Sub(l.lastCP) >= l.cfg.CheckpointEvery) {
		l.housekeepLocked(ts)
	}
	l.updateHealthLocked()
}
