package main

// An ended call must leave nothing reachable: not its streams, not its SRTP
// sessions (they hold the call's keys, A10), not its DTLS endpoint. The soak
// (bench/soak) sees a leak as heap that does not come back; this test names
// the objects, with the heap profile at full resolution.

import (
	"bufio"
	"bytes"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// liveObjects reads the in-use heap profile (text form, every allocation
// sampled) and counts live objects whose allocation stack passes through
// each of funcs.
func liveObjects(t *testing.T, funcs []string) map[string]int64 {
	t.Helper()
	// The profile reflects the last completed GC cycle; two more make
	// sure everything dead by now is gone from it.
	for range 3 {
		runtime.GC()
	}
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 1); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	var inuse int64
	sc := bufio.NewScanner(&b)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) > 2 && strings.HasSuffix(f[0], ":") && strings.HasPrefix(f[2], "[") {
			// "<inuse objects>: <inuse bytes> [<alloc objects>: <alloc bytes>] @ ..."
			inuse, _ = strconv.ParseInt(strings.TrimSuffix(f[0], ":"), 10, 64)
			continue
		}
		if !strings.HasPrefix(line, "#\t") {
			continue
		}
		for _, fn := range funcs {
			if strings.Contains(line, "\t"+fn+"+") {
				out[fn] += inuse
			}
		}
	}
	return out
}

// TestAbuseEndedCallsReleased: 20 calls carry media both ways and are
// deleted; once srtpgw_calls_active is 0, no object allocated for them by
// relay.newStream, crypto.NewSession (SRTP keys) or crypto.NewEndpoint is
// still live.
func TestAbuseEndedCallsReleased(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	d, _ := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 29500, 29699 })
	calls := setupCalls(t, ngAddrOf(d), 20, 4, "released")
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	funcs := []string{"github.com/srtpgw/srtpgw/relay.newStream", "github.com/srtpgw/srtpgw/crypto.NewSession",
		"github.com/srtpgw/srtpgw/crypto.NewEndpoint"}
	// The same count while the calls are up shows the profile is read
	// right: a parser that finds nothing would pass the check below.
	if live := liveObjects(t, funcs); live[funcs[0]] == 0 || live[funcs[1]] == 0 {
		t.Fatalf("live objects while 20 calls are up: %v", live)
	}
	for _, sc := range calls {
		if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(sc.id))); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 5*time.Second, "calls ended", func() bool { return metric(t, d, "srtpgw_calls_active") == 0 })
	time.Sleep(500 * time.Millisecond) // let the packet path go idle
	live := liveObjects(t, funcs)
	for _, fn := range funcs {
		if live[fn] != 0 {
			t.Errorf("%d objects allocated by %s still live after every call ended", live[fn], fn)
		}
	}
}
