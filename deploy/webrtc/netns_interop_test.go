//go:build interop

package webrtc

// A private network namespace with nothing but lo for the Chromium call.
//
// Why: Chromium gathers a host candidate on every interface that is up.
// On a machine with an eth0 (CI has one) it offers that address next to
// 127.0.0.1, sends connectivity checks from it, and a full-ICE relay
// learns it as peer-reflexive and sends STUN there (seen with rtpengine
// 10.5: "Created candidate pair ... 192.0.2.2:53823, type prflx"). No
// browser flag limits gathering to loopback, so the call runs where lo is
// the only interface: relay, browser and the test's own sockets (phone,
// ng client, page server) all live in the namespace, and every packet
// stays on 127.0.0.0/8.
//
// The test's sockets enter the namespace with setns(2) on a locked OS
// thread (a socket keeps the namespace it was created in); programs are
// started with `ip netns exec`.

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/deploy/interop"
	"golang.org/x/sys/unix"
)

// netns implements interop.Namespace; a nil *netns is the host namespace.
type netns struct {
	name string
	fd   *os.File
}

// newNetns creates the namespace and brings lo up; t.Cleanup deletes it
// (registered first, so it runs after the processes inside have stopped).
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Getenv("SRTPGW_WEBRTC_NETNS") == "off" {
		t.Log("SRTPGW_WEBRTC_NETNS=off: Chromium runs in the host namespace and may use non-loopback interfaces")
		return nil
	}
	if os.Geteuid() != 0 {
		t.Fatal("the Chromium test needs root for `ip netns add` (or SRTPGW_WEBRTC_NETNS=off on a loopback-only machine)")
	}
	removeStaleNetns(t)
	name := fmt.Sprintf("%s%d", netnsPrefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	n := &netns{name: name}
	t.Cleanup(func() {
		if n.fd != nil {
			n.fd.Close()
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	fd, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	n.fd = fd
	out, _ := exec.Command("ip", "-n", name, "-br", "addr").CombinedOutput()
	t.Logf("network namespace %s: %s", name, strings.TrimSpace(string(out)))
	return n
}

var _ interop.Namespace = (*netns)(nil)

const netnsPrefix = "srtpgw-webrtc-"

// removeStaleNetns deletes namespaces left by a test binary that was
// killed before its cleanups ran (the name carries its pid).
func removeStaleNetns(t *testing.T) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), netnsPrefix))
		if !strings.HasPrefix(e.Name(), netnsPrefix) || err != nil {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput()
			t.Logf("removed stale network namespace %s: %v %s", e.Name(), err, out)
		}
	}
}

func setns(fd uintptr) error { return unix.Setns(int(fd), unix.CLONE_NEWNET) }

// Do runs fn with the calling goroutine's thread inside the namespace, so
// the sockets fn creates belong to it. A nil netns runs fn as is.
func (n *netns) Do(fn func() error) error {
	if n == nil {
		return fn()
	}
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := setns(n.fd.Fd()); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", n.name, err)
	}
	ferr := fn()
	if err := setns(orig.Fd()); err != nil {
		// Leave the thread locked: Go discards a thread that is still
		// locked when its goroutine ends, so no other goroutine inherits
		// the namespace.
		return fmt.Errorf("setns back from %s: %w", n.name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Wrap returns the command line that runs bin inside the namespace.
func (n *netns) Wrap(bin string, args []string) (string, []string) {
	if n == nil {
		return bin, args
	}
	return "ip", append([]string{"netns", "exec", n.name, bin}, args...)
}
