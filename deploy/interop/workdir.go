package interop

// Where a harness keeps its files: the per-test work directory and the
// module root (for building ./cmd/srtpgw).

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// LogDirEnv names the variable that keeps every artefact of a run.
const LogDirEnv = "SRTPGW_INTEROP_LOGDIR"

// WorkDir is a temp dir removed after the test, or, with
// SRTPGW_INTEROP_LOGDIR set, a kept one named <time>-<test> under it.
func WorkDir(t testing.TB) string {
	t.Helper()
	if base := os.Getenv(LogDirEnv); base != "" {
		d := filepath.Join(base, time.Now().Format("20060102-150405")+"-"+t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("artefacts kept in %s", d)
		return d
	}
	return t.TempDir()
}

// ModuleRoot finds the directory holding go.mod at or above the working
// directory (a test runs in its package's directory).
func ModuleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("go.mod not found")
		}
		d = parent
	}
}
