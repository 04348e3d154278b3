package load

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat
// (proc(5)). It is 100 on every Linux architecture Go supports; the kernel
// scales to it whatever CONFIG_HZ is.
const ClockTicks = 100

// ErrProcFormat is wrapped by parse errors of /proc files.
var ErrProcFormat = errors.New("unexpected /proc format")

// ParseStat reads utime+stime (fields 14 and 15, proc(5)) from the text of
// /proc/PID/stat and returns them as CPU time. The comm field (2) is in
// parentheses and may itself contain spaces and ')', so parsing starts
// after the last ')'.
func ParseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat has no ')'", ErrProcFormat)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: stat has %d fields after comm", ErrProcFormat, len(f))
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrProcFormat, err)
	}
	return time.Duration(ut+st) * (time.Second / ClockTicks), nil
}

// ParseRSS reads VmRSS from the text of /proc/PID/status, in bytes.
func ParseRSS(b []byte) (int64, error) {
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%w: VmRSS line %q", ErrProcFormat, line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrProcFormat, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("%w: no VmRSS line", ErrProcFormat)
}

// ProcCPU is the CPU time (user+system, all threads) of process pid;
// pid 0 means this process.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, err
	}
	return ParseStat(b)
}

// ProcRSS is the resident set size of process pid in bytes; 0 = self.
func ProcRSS(pid int) (int64, error) {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return 0, err
	}
	return ParseRSS(b)
}

func procPath(pid int, file string) string {
	if pid == 0 {
		return "/proc/self/" + file
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

// ParseHostCPU reads the aggregate "cpu" line of /proc/stat (proc(5)) and
// returns the busy time (everything but idle and iowait) and the steal
// time (taken by the hypervisor), summed over all CPUs.
func ParseHostCPU(b []byte) (busy, steal time.Duration, err error) {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, 0, fmt.Errorf("%w: first line of /proc/stat %q", ErrProcFormat, line)
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseUint(string(f[i+1]), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("%w: %v", ErrProcFormat, err)
		}
	}
	tick := time.Second / ClockTicks
	busyTicks := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return time.Duration(busyTicks) * tick, time.Duration(v[7]) * tick, nil
}

// HostCPU is ParseHostCPU of this machine.
func HostCPU() (busy, steal time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	return ParseHostCPU(b)
}
