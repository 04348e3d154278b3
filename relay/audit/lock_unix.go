//go:build unix

package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockLog takes an exclusive flock(2) on path (created 0600). Two
// processes appending to one log would fork the hash chain; the lock makes
// the second Open fail instead. The kernel drops the lock when the process
// dies, so a crash never leaves a stale lock behind.
func lockLog(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("audit: lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
