//go:build interop

package kamailio

// Process management for the interop harness: every external program runs in
// its own process group with its output in a log file, and is stopped (TERM,
// then KILL) by t.Cleanup even when the test fails half-way.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is one external program started by the harness.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // exit status, valid after done
}

// startProc starts bin with args in dir, output to dir/name.log, and
// registers its cleanup.
func startProc(t *testing.T, dir, name, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group, so Kamailio's children go with it; SIGKILL if the
	// test binary dies before its cleanups run.
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
			t.Logf("---- last lines of %s ----\n%s", logPath, tail(logPath, 40))
		}
	})
	return p
}

// stop signals the process group and waits; it escalates to SIGKILL.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Kamailio's children can outlive the main process by a moment.
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

// waitLog polls the process log until a line contains want.
func (p *proc) waitLog(ctx context.Context, want string) error {
	for {
		if b, err := os.ReadFile(p.logPath); err == nil && strings.Contains(string(b), want) {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited (%v) before logging %q", p.name, p.err, want)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %q: %w", p.name, want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
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
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// freeTCPPort returns a currently unused TCP port on ip.
func freeTCPPort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ngPing sends an ng ping until the relay answers pong or ctx ends.
func ngPing(ctx context.Context, addr string) error {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for i := 0; ; i++ {
		cookie := fmt.Sprintf("ping_%d", i)
		if _, err := c.Write([]byte(cookie + " d7:command4:pinge")); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil {
			got, v, derr := decodeNG(buf[:n])
			if derr == nil && got == cookie && string(v.get("result").str) == "pong" {
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("no ng pong from %s: %w", addr, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sipOptionsOK sends SIP OPTIONS until a 200 comes back.
func sipOptionsOK(ctx context.Context, addr string) error {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	buf := make([]byte, 4096)
	for i := 0; ; i++ {
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-probe-%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=probe\r\nTo: <sip:%s>\r\n"+
			"Call-ID: probe-%d@%s\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n",
			addr, local, i, local, addr, i, local, i+1)
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(fmt.Errorf("no SIP 200 from %s", addr), ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
