package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/srtpgw/srtpgw/bench/load"
	"github.com/srtpgw/srtpgw/relay/audit"
)

// Daemon is the srtpgw binary under test, started with loopback listeners
// and a call log in its own directory.
type Daemon struct {
	Bin      string
	Dir      string
	NG       string // ng ADDR:PORT
	HTTP     string // --listen-http ADDR:PORT
	AuditLog string
	Args     []string // the whole command line, for the report

	cmd     *exec.Cmd
	logs    *lockedBuffer
	exited  chan struct{}
	waitErr error
}

// DaemonConfig is what the soak sets on the command line.
type DaemonConfig struct {
	Bin              string // path of the srtpgw binary
	Dir              string // call log and keys go here
	PortMin, PortMax int
	Interface        string // media --interface
}

// lockedBuffer collects the daemon's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 { // keep the tail only
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePortOutside returns a loopback port free right now for network
// ("udp" or "tcp") and outside [lo, hi]: srtpgw refuses a control listener
// inside its media range, and the kernel's own choice of a free port
// (bind to port 0) often lands there.
func freePortOutside(network string, lo, hi int) (int, error) {
	const first, span = 10000, 55000 // candidates 10000-64999
	start := rand.IntN(span)
	for i := range span {
		p := first + (start+i)%span
		if p >= lo && p <= hi {
			continue
		}
		if portFree(network, p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free %s port outside %d-%d", network, lo, hi)
}

func portFree(network string, port int) bool {
	if network == "udp" {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// StartDaemon starts srtpgw and waits until it answers an ng ping.
// --timeout stays long (the soak deletes every call itself: a timeout
// would be a bug), --delete-delay 0 frees a deleted call at once, and
// --max-sessions 0 lifts the session limit.
func StartDaemon(cfg DaemonConfig) (*Daemon, error) {
	ngPort, err := freePortOutside("udp", cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, err
	}
	httpPort, err := freePortOutside("tcp", cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Bin: cfg.Bin, Dir: cfg.Dir, logs: &lockedBuffer{}, exited: make(chan struct{}),
		NG:       fmt.Sprintf("127.0.0.1:%d", ngPort),
		HTTP:     fmt.Sprintf("127.0.0.1:%d", httpPort),
		AuditLog: filepath.Join(cfg.Dir, "audit.jsonl"),
	}
	d.Args = []string{"--interface", cfg.Interface, "--listen-ng", d.NG, "--listen-http", d.HTTP,
		"--port-min", strconv.Itoa(cfg.PortMin), "--port-max", strconv.Itoa(cfg.PortMax),
		"--timeout", "60", "--delete-delay", "0", "--max-sessions", "0", "--audit-log", d.AuditLog}
	d.cmd = exec.Command(cfg.Bin, d.Args...)
	d.cmd.Stderr = d.logs
	d.cmd.Stdout = d.logs
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	ng, err := load.DialNG(d.NG)
	if err != nil {
		d.Kill()
		return nil, err
	}
	defer ng.Close()
	ng.Timeout, ng.Retries = 200*time.Millisecond, 75
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := ng.Do(ctx, map[string]any{"command": "ping"}); err != nil {
		d.Kill()
		return nil, fmt.Errorf("srtpgw does not answer ng on %s: %w\n%s", d.NG, err, d.logs.String())
	}
	return d, nil
}

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// Logs is the tail of the daemon's stderr.
func (d *Daemon) Logs() string { return d.logs.String() }

// Stop sends SIGTERM and waits for the exit within bound.
func (d *Daemon) Stop(bound time.Duration) error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-d.exited:
		return d.waitErr
	case <-time.After(bound):
		d.Kill()
		return fmt.Errorf("srtpgw did not exit within %v of SIGTERM", bound)
	}
}

// Kill ends the daemon at once (error paths only).
func (d *Daemon) Kill() {
	d.cmd.Process.Kill()
	<-d.exited
}

// VerifyLog runs `srtpgw audit verify` with the public key over the log.
func (d *Daemon) VerifyLog() (string, error) {
	files, err := audit.Files(d.AuditLog)
	if err != nil {
		return "", err
	}
	args := append([]string{"audit", "verify", "--pubkey", filepath.Join(d.Dir, "audit.key.pub")}, files...)
	out, err := exec.Command(d.Bin, args...).CombinedOutput()
	return string(bytes.TrimSpace(out)), err
}

// BuildSrtpgw builds ./cmd/srtpgw of the module at root into dir.
func BuildSrtpgw(root, dir string) (string, error) {
	bin := filepath.Join(dir, "srtpgw")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/srtpgw")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/srtpgw: %v\n%s", err, out)
	}
	return bin, nil
}
