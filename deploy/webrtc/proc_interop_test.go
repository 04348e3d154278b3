//go:build interop

package webrtc

// Process management for the harness (adapted from deploy/kamailio): every
// external program runs in its own process group with stdout and stderr in
// a log file, and is stopped (TERM, then KILL, whole group) by t.Cleanup
// even when the test fails half-way. Chromium's zygote and renderers and
// rtpengine's threads go with their group.

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // exit status, valid after done
}

// procOpts are the optional parts of a start.
type procOpts struct {
	extraFiles []*os.File // fd 3, 4, ... in the child
	env        []string   // added to the test's environment
	ns         *netns     // run inside this network namespace (nil: host)
}

// startProc starts bin with args in dir, output to dir/name.log, and
// registers its cleanup, which prints the log's tail if the test failed.
func startProc(t *testing.T, dir, name string, opts procOpts, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	bin, args = opts.ns.wrap(bin, args)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.ExtraFiles = opts.extraFiles
	if opts.env != nil {
		cmd.Env = append(os.Environ(), opts.env...)
	}
	// Own process group so children go with it; SIGKILL if the test
	// binary dies before its cleanups run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	t.Logf("start %s: %s %s (log %s)", name, bin, strings.Join(args, " "), logPath)
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM, 3*time.Second)
		if t.Failed() {
			t.Logf("---- last lines of %s ----\n%s", logPath, tail(logPath, 60))
		}
	})
	return p
}

// stop signals the process group and waits; it escalates to SIGKILL.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	pgid := p.cmd.Process.Pid
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
	// Children (Chromium's renderers) can outlive the leader by a moment.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// grepLog returns the log lines containing any of subs.
func (p *proc) grepLog(subs ...string) []string {
	var out []string
	for _, line := range strings.Split(p.logText(), "\n") {
		for _, s := range subs {
			if strings.Contains(line, s) {
				out = append(out, strings.TrimSpace(line))
				break
			}
		}
	}
	return out
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
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

// freeUDPPort returns a currently unused UDP port on ip.
func freeUDPPort(ip string) (int, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
