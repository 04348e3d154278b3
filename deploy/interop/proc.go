package interop

// Process management for the harnesses: every external program runs in its
// own process group with stdout and stderr in a log file, and is stopped
// (TERM, then KILL, whole group) by t.Cleanup even when the test fails
// half-way. Kamailio's workers, Chromium's zygote and renderers and
// rtpengine's threads go with their group.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tailLines is how much of a log StartProc's cleanup prints when the test
// has failed.
const tailLines = 60

// Proc is one external program started by a harness.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string // stdout and stderr
	done    chan struct{}
	err     error // exit status, valid after done
}

// ProcOpts are the optional parts of a start.
type ProcOpts struct {
	ExtraFiles []*os.File // fd 3, 4, ... in the child
	Env        []string   // added to the test's environment
	NS         Namespace  // run inside this network namespace (nil: host)
}

// Namespace is a network namespace a harness runs programs and sockets in.
// Implementations must treat a nil receiver as the host namespace.
type Namespace interface {
	// Do runs fn on a thread inside the namespace, so the sockets fn
	// creates belong to it.
	Do(fn func() error) error
	// Wrap returns the command line that runs bin inside the namespace.
	Wrap(bin string, args []string) (string, []string)
}

// inNS runs fn in ns, or directly when ns is nil.
func inNS(ns Namespace, fn func() error) error {
	if ns == nil {
		return fn()
	}
	return ns.Do(fn)
}

// StartProc starts bin with args in dir, output to dir/name.log, and
// registers its cleanup, which prints the log's tail if the test failed.
func StartProc(t testing.TB, dir, name string, opts ProcOpts, bin string, args ...string) *Proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if opts.NS != nil {
		bin, args = opts.NS.Wrap(bin, args)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.ExtraFiles = opts.ExtraFiles
	if opts.Env != nil {
		cmd.Env = append(os.Environ(), opts.Env...)
	}
	// Own process group so children go with it; SIGKILL if the test
	// binary dies before its cleanups run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	t.Logf("start %s: %s %s (log %s)", name, bin, strings.Join(args, " "), logPath)
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(syscall.SIGTERM, 3*time.Second)
		if t.Failed() {
			t.Logf("---- last lines of %s ----\n%s", logPath, Tail(logPath, tailLines))
		}
	})
	return p
}

// Stop signals the process group and waits; after grace it escalates to
// SIGKILL. It always ends with a SIGKILL to the group, because children
// (Kamailio's workers, Chromium's renderers) can outlive the leader by a
// moment.
func (p *Proc) Stop(sig syscall.Signal, grace time.Duration) {
	pgid := p.Cmd.Process.Pid
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-pgid, sig)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is the exit status (nil for exit 0); valid once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// LogText returns the log written so far.
func (p *Proc) LogText() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// WaitLog polls the log until it contains want; it fails early when the
// process exits first.
func (p *Proc) WaitLog(ctx context.Context, want string) error {
	for {
		if strings.Contains(p.LogText(), want) {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s exited (%v) before logging %q", p.Name, p.err, want)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %q: %w", p.Name, want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// GrepLog returns the log lines containing any of subs, trimmed.
func (p *Proc) GrepLog(subs ...string) []string {
	var out []string
	for _, line := range strings.Split(p.LogText(), "\n") {
		for _, s := range subs {
			if strings.Contains(line, s) {
				out = append(out, strings.TrimSpace(line))
				break
			}
		}
	}
	return out
}

// Tail returns the last n lines of a file, or the error reading it.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
