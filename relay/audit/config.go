package audit

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Defaults. CheckpointEvery bounds how long records stay unsigned (and so
// how much an attacker without the key can rewrite undetected at the tail);
// SyncInterval bounds how long a non-critical record may sit in the page
// cache before fsync.
const (
	DefaultCheckpointEvery = 5 * time.Minute
	DefaultSyncInterval    = time.Second
	DefaultRotateSize      = 64 << 20
	DefaultBacklogMax      = 10000
)

// Config configures a Log. Zero values take the defaults above.
type Config struct {
	// Path is the active log file. Rotated files are Path + "." + the
	// 20-digit seq of their first record (see Files).
	Path string

	// KeyPath holds the Ed25519 signing key as a PEM "PRIVATE KEY"
	// (PKCS #8, RFC 8410). It is created with mode 0600 and a fresh key if
	// missing; Open refuses a key file readable or writable by group or
	// others, or one that does not parse. The public key is (re)written to
	// KeyPath + ".pub" as a PEM "PUBLIC KEY" (PKIX, RFC 8410 §4), mode 0644.
	KeyPath string

	// RedactKeyPath, if set, holds the HMAC-SHA-256 key for --audit-redact:
	// 32 random bytes as 64 hex digits and a newline, created 0600 if
	// missing, with the same permission rule as KeyPath. Empty disables
	// redaction.
	RedactKeyPath string

	CheckpointEvery time.Duration // default 5m
	SyncInterval    time.Duration // default 1s; also the retry period after a write failure

	// RotateSize rotates the active file before a record once it holds at
	// least this many bytes. 0 = DefaultRotateSize; negative = never.
	RotateSize int64
	// RotateDaily also rotates when the UTC day of a record differs from
	// that of the first record in the active file.
	RotateDaily bool

	// BacklogMax bounds the records held in memory while the file cannot
	// be written. Beyond it, records are refused (ErrBacklogFull), counted,
	// and summarised in a records_lost record once writing works again.
	BacklogMax int

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default: discard

	// openFile is the writer seam for tests (failing disks). nil = openLogFile.
	openFile func(name string) (file, error)
}

// file is the subset of *os.File the writer uses.
type file interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

func openLogFile(name string) (file, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

func (c Config) withDefaults() (Config, error) {
	if c.Path == "" {
		return c, errors.New("audit: Config.Path is required")
	}
	c.Path = filepath.Clean(c.Path)
	if c.KeyPath == "" {
		return c, errors.New("audit: Config.KeyPath is required")
	}
	if c.CheckpointEvery < 0 || c.SyncInterval < 0 || c.BacklogMax < 0 {
		return c, errors.New("audit: negative CheckpointEvery, SyncInterval or BacklogMax")
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	// Whole milliseconds: the log_open record carries it in ms and the
	// verifier enforces exactly that value.
	c.CheckpointEvery = c.CheckpointEvery.Truncate(time.Millisecond)
	if c.CheckpointEvery <= 0 {
		return c, errors.New("audit: CheckpointEvery below 1ms")
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.RotateSize == 0 {
		c.RotateSize = DefaultRotateSize
	}
	if c.BacklogMax == 0 {
		c.BacklogMax = DefaultBacklogMax
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.openFile == nil {
		c.openFile = openLogFile
	}
	return c, nil
}
