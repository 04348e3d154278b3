package main

import (
	"fmt"
	"syscall"
)

// harden makes the process undumpable and caps core files at zero, so SRTP
// and DTLS keys in memory cannot reach a core file or another process
// through ptrace or /proc/PID/mem (security requirement A10).
func harden() error {
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("RLIMIT_CORE=0: %w", err)
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return fmt.Errorf("PR_SET_DUMPABLE=0: %w", errno)
	}
	return nil
}
