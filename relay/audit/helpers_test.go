package audit

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testSeed makes the fixed test key (golden output depends on it).
var testSeed = []byte("srtpgw audit test key, fixed!!!!")

func testKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(testSeed) }

func testPub() ed25519.PublicKey { return testKey().Public().(ed25519.PublicKey) }

// writeTestKey stores the fixed key at path with mode 0600.
func writeTestKey(t testing.TB, path string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// clock is a manual clock: it only moves when the test says so.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// faults makes the writer seam fail on demand (a full disk).
type faults struct {
	mu        sync.Mutex
	write     error // Write returns this
	short     bool  // ... after writing half the bytes
	sync      error // Sync returns this
	openErr   error // opening a new file returns this
	writes    int
	truncates int
}

func (f *faults) set(fn func(*faults)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

type faultFile struct {
	*os.File
	fl *faults
}

func (f faultFile) Write(p []byte) (int, error) {
	f.fl.mu.Lock()
	err, short := f.fl.write, f.fl.short
	f.fl.writes++
	f.fl.mu.Unlock()
	if err == nil {
		return f.File.Write(p)
	}
	if short {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, err
	}
	return 0, err
}

func (f faultFile) Sync() error {
	f.fl.mu.Lock()
	err := f.fl.sync
	f.fl.mu.Unlock()
	if err != nil {
		return err
	}
	return f.File.Sync()
}

func (f faultFile) Truncate(n int64) error {
	f.fl.mu.Lock()
	f.fl.truncates++
	f.fl.mu.Unlock()
	return f.File.Truncate(n)
}

func (fl *faults) open(name string) (file, error) {
	fl.mu.Lock()
	err := fl.openErr
	fl.mu.Unlock()
	if err != nil {
		return nil, err
	}
	f, err := openLogFile(name)
	if err != nil {
		return nil, err
	}
	return faultFile{f.(*os.File), fl}, nil
}

var errDiskFull = syscall.ENOSPC

// env is one test log directory with a fixed key and a manual clock.
type env struct {
	t   testing.TB
	dir string
	clk *clock
	cfg Config
	flt *faults
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	writeTestKey(t, filepath.Join(dir, "audit.key"))
	e := &env{t: t, dir: dir, clk: newClock(), flt: &faults{}}
	e.cfg = Config{
		Path:         filepath.Join(dir, "audit.jsonl"),
		KeyPath:      filepath.Join(dir, "audit.key"),
		SyncInterval: time.Hour, // no background ticks: tests call tick()
		Now:          e.clk.Now,
	}
	e.cfg.openFile = e.flt.open
	return e
}

func (e *env) open() *Log {
	e.t.Helper()
	l, err := Open(e.cfg)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return l
}

func (e *env) files() []string {
	e.t.Helper()
	fs, err := Files(e.cfg.Path)
	if err != nil {
		e.t.Fatal(err)
	}
	return fs
}

// verify runs Verify over the log's files with the test key.
func (e *env) verify() (Result, error) {
	e.t.Helper()
	return Verify(e.files(), testPub())
}

func (e *env) mustVerify() Result {
	e.t.Helper()
	res, err := e.verify()
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return res
}

// crash abandons l as kill -9 would: no shutdown record, no final
// checkpoint, file and lock released by "the kernel".
func crash(l *Log) {
	l.stopLoop()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.f.Close()
	l.unlock()
}

func lines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func writeLines(t testing.TB, path string, ls []string) {
	t.Helper()
	data := strings.Join(ls, "\n")
	if len(ls) > 0 {
		data += "\n"
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func testCall(n int) Call {
	return Call{
		UID:           "c" + string(rune('0'+n)),
		CallID:        "a84b4c76e66710@pc33.clinic.example",
		FromTag:       "1928301774",
		ToTag:         "a6c85cf",
		FromLabel:     "caller",
		ToLabel:       "callee",
		Phone:         netip.MustParseAddrPort("10.0.0.5:16384"),
		PhoneLocal:    []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:30000")},
		Upstream:      netip.MustParseAddrPort("192.0.2.10:40000"),
		UpstreamLocal: []netip.AddrPort{netip.MustParseAddrPort("198.51.100.1:30002")},
	}
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantVerifyError asserts that err is a *VerifyError at file:line.
func wantVerifyError(t testing.TB, err error, file string, line int, reason string) {
	t.Helper()
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("want VerifyError at %s:%d, got %v", filepath.Base(file), line, err)
	}
	if ve.File != file || ve.Line != line || !strings.Contains(ve.Reason, reason) {
		t.Fatalf("want %s:%d %q, got %s:%d %q", filepath.Base(file), line, reason, filepath.Base(ve.File), ve.Line, ve.Reason)
	}
}
