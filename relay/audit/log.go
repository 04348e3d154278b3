package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Errors callers branch on.
var (
	// ErrClosed: the Log was shut down.
	ErrClosed = errors.New("audit: log closed")
	// ErrBacklogFull: the file has been unwritable long enough that the
	// in-memory backlog is full; this record was not logged. It is counted
	// and summarised in a records_lost record once writing resumes.
	ErrBacklogFull = errors.New("audit: backlog full, record not logged")
	// ErrCorrupt: Open found the newest log file unreadable or its chain
	// broken. The daemon must not append to a log it cannot vouch for;
	// an operator moves the file aside (Verify will then flag the gap).
	ErrCorrupt = errors.New("audit: existing log is corrupt")
	// ErrLocked: another process holds the log (two writers would fork
	// the chain).
	ErrLocked = errors.New("audit: log is in use by another process")
	// ErrKeyChanged: the log's checkpoints were signed with a different
	// key than the one at KeyPath. Continuing would make the log
	// unverifiable with either key; restore the key or start a new log.
	ErrKeyChanged = errors.New("audit: signing key differs from the one the log was signed with")
)

// Log is the append-only, hash-chained call log. All methods are safe for
// concurrent use. Records are written in the order the methods are called.
//
// Locking: mu guards everything below it. Event methods hold mu across
// write(2) and, for records that need it, fsync(2): audit records are per
// call, never per packet, so a simple total order is worth more than the
// concurrency.
type Log struct {
	cfg       Config
	priv      ed25519.PrivateKey
	pub       ed25519.PublicKey
	keyID     string
	redactKey []byte
	unlock    func()

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}

	mu sync.Mutex

	// Chain state. It is logical: it includes records still in the backlog.
	seq      uint64
	head     [32]byte // SHA-256 of the last record's line bytes
	lastTS   time.Time
	lastType string
	lastCP   time.Time // ts of the last checkpoint record
	open     map[string]openCall
	opening  bool // inside Open's recovery sequence

	// Logical file: where the next record goes.
	fileBytes    int64
	fileFirstSeq uint64
	fileDay      int // UTC yyyymmdd of the file's first record
	needHeader   bool
	prevFile     string // base name of the previous file, for the rotate header

	// Physical writer.
	f         file
	curName   string // name the open file currently has
	size      int64  // bytes known to be in f
	queue     []entry
	needTrunc bool // a partial write must be cut off before the next write
	dirty     bool // written since the last successful fsync
	syncFail  bool
	lastSync  time.Time
	healthy   bool
	err       error
	closed    bool
	buf       []byte

	// Accounting.
	lost          map[string]uint64 // cumulative, for Stats
	lostPend      map[string]uint64 // not yet reported in a records_lost record
	lostFirst     time.Time
	lostLast      time.Time
	written       map[string]uint64
	writeErrors   uint64
	syncErrors    uint64
	lastWrite     time.Time
	lastCPWritten time.Time
}

type openCall struct {
	start time.Time
	call  callRec
}

// entry is one backlog item: a record line, or a pending file rotation.
type entry struct {
	line     []byte // with '\n'; nil for a rotation
	typ      string
	ts       time.Time
	sync     bool
	rotateTo string // rotation: the name the current file gets
}

// Open opens (or creates) the log at cfg.Path, continues its chain, and
// closes calls the previous process left open (crash recovery). It writes
// a log_open record, a call_end with end_reason "gateway_restart" for each
// call still open on disk, and a checkpoint. If those records cannot be
// written yet (disk full), Open still succeeds with Healthy() == false and
// keeps them in the backlog.
func Open(cfg Config) (*Log, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	priv, err := loadOrCreateSigningKey(cfg.KeyPath)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	if err := writePublicKey(cfg.KeyPath+".pub", pub); err != nil {
		// Derived data (PublicKeyPEM serves it too); a read-only key
		// mount must not stop the gateway.
		cfg.Logger.Warn("audit: cannot write public key file", "err", err)
	}
	l := &Log{
		cfg:      cfg,
		priv:     priv,
		pub:      pub,
		keyID:    KeyID(pub),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		open:     make(map[string]openCall),
		lost:     make(map[string]uint64),
		lostPend: make(map[string]uint64),
		written:  make(map[string]uint64),
		healthy:  true,
	}
	if cfg.RedactKeyPath != "" {
		if l.redactKey, err = loadOrCreateRedactKey(cfg.RedactKeyPath); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: log dir: %w", err)
	}
	if l.unlock, err = lockLog(cfg.Path + ".lock"); err != nil {
		return nil, err
	}
	st, err := scan(cfg.Path)
	if err == nil && st.lastKey != "" && st.lastKey != l.keyID {
		err = fmt.Errorf("%w: %s was signed with key %s, %s holds key %s", ErrKeyChanged, cfg.Path, st.lastKey, cfg.KeyPath, l.keyID)
	}
	if err == nil {
		l.f, err = cfg.openFile(cfg.Path)
	}
	if err != nil {
		l.unlock()
		return nil, err
	}
	if err := syncDir(filepath.Dir(cfg.Path)); err != nil {
		cfg.Logger.Warn("audit: cannot sync log directory", "err", err)
	}
	l.curName = cfg.Path
	l.size = st.activeSize
	l.seq, l.head, l.lastTS, l.lastType, l.lastCP = st.seq, st.head, st.lastTS, st.lastType, st.lastCP
	l.open = st.open
	l.fileBytes = st.activeSize
	l.fileFirstSeq = st.activeFirstSeq
	l.fileDay = st.activeDay
	l.needHeader = st.seq > 0 && st.activeSize == 0
	l.prevFile = st.prevFile
	if l.fileFirstSeq == 0 {
		l.fileFirstSeq = st.seq + 1
	}
	l.lastSync = cfg.Now()

	l.mu.Lock()
	l.recoverLocked(st)
	l.mu.Unlock()
	if st.torn > 0 || len(st.open) > 0 || st.previous() == prevCrashed {
		cfg.Logger.Info("audit: recovered log", "previous", st.previous(),
			"closed_calls", len(st.open), "torn_bytes", st.torn)
	}
	go l.loop()
	return l, nil
}

// Shutdown writes a shutdown record and a final checkpoint, flushes, and
// closes the log. If records are still unwritten (disk full), it returns an
// error saying how many; they are lost when the process exits.
func (l *Log) Shutdown(reason string) error {
	l.stopLoop()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.drainLocked()
	ts := l.nowLocked()
	l.housekeepLocked(ts)
	reason = sanitize(reason, maxText)
	l.emitLocked(typeShutdown, ts, func(b []byte) []byte {
		b = field(b, "reason")
		return appendString(b, reason)
	}, true)
	l.emitCheckpointLocked(ts, cpShutdown)
	l.drainLocked()
	var err error
	switch {
	case len(l.queue) > 0:
		err = fmt.Errorf("audit: shutdown with %d records unwritten: %w", l.backlogLenLocked(), l.err)
	case l.syncFail:
		err = fmt.Errorf("audit: shutdown: final fsync failed: %w", l.err)
	}
	if cerr := l.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("audit: shutdown: %w", cerr)
	}
	l.closed = true
	l.healthy = false
	l.unlock()
	return err
}

func (l *Log) stopLoop() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

func (l *Log) loop() {
	defer close(l.done)
	t := time.NewTicker(l.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.tick()
		}
	}
}

// PublicKey returns the checkpoint verification key.
func (l *Log) PublicKey() ed25519.PublicKey { return l.pub }

// PublicKeyPEM returns the checkpoint key as written to KeyPath+".pub",
// for --audit-pubkey-out and for shipping off-box to auditors.
func (l *Log) PublicKeyPEM() []byte { return marshalPublicKey(l.pub) }

// Healthy reports whether every record so far is written and fsynced as
// the policy requires. The daemon should fail readiness and refuse new
// calls while it is false (ErrUnavailable in relay).
func (l *Log) Healthy() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.healthy && !l.closed
}

// Err returns the error behind Healthy() == false, or nil.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.healthy {
		return nil
	}
	return l.err
}

// Stats is a snapshot for metrics.
type Stats struct {
	Records        map[string]uint64 // written to the file, by record type
	Lost           map[string]uint64 // refused with ErrBacklogFull, by record type
	WriteErrors    uint64            // failed write(2)/truncate/rotate attempts
	SyncErrors     uint64            // failed fsync(2) attempts
	Backlog        int               // records waiting to be written
	LastWrite      time.Time         // wall-clock time of the last successful write
	LastCheckpoint time.Time         // record time of the last checkpoint written
	Seq            uint64            // seq of the last record (written or queued)
	Healthy        bool
}

// Stats returns a snapshot of the counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{
		Records:        make(map[string]uint64, len(l.written)),
		Lost:           make(map[string]uint64, len(l.lost)),
		WriteErrors:    l.writeErrors,
		SyncErrors:     l.syncErrors,
		Backlog:        l.backlogLenLocked(),
		LastWrite:      l.lastWrite,
		LastCheckpoint: l.lastCPWritten,
		Seq:            l.seq,
		Healthy:        l.healthy && !l.closed,
	}
	for k, v := range l.written {
		s.Records[k] = v
	}
	for k, v := range l.lost {
		s.Lost[k] = v
	}
	return s
}
