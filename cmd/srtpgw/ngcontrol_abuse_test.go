package main

// Control-plane abuse against the whole daemon (security requirements C1,
// C4, A11): malformed and oversized ng datagrams, a junk flood, clients
// outside --ng-allow, and cookies that collide between two senders. Each
// test names the attack, the expected behaviour and the counter or call-log
// record that shows it, and ends with the daemon still healthy.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/ng"
)

const invalidErrors = `srtpgw_ng_requests_total{command="invalid",result="error"}`

func dropped(reason string) string { return `srtpgw_ng_dropped_total{reason="` + reason + `"}` }

// deepNesting is a dictionary whose value is `depth` nested lists.
func deepNesting(depth int) []byte {
	return []byte("d1:a" + strings.Repeat("l", depth) + strings.Repeat("e", depth) + "e")
}

// TestAbuseNGMalformed: each malformed datagram gets rtpengine's error reply
// (or, without a cookie, no reply) naming what is wrong without echoing
// content, and is counted; none of them costs a call or a crash.
func TestAbuseNGMalformed(t *testing.T) {
	d, _ := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 26000, 26099 })
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ngAddrOf(d)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The largest datagram IPv4 carries (65535 - 20 - 8) is exactly
	// Config.MaxMessage, so it is decoded in full: a dictionary whose one
	// 65 KB string is not an SDP the server ever looks at.
	strLen := 65507 - len("c-max d3:sdp") - len("65488:") - len("e")
	maxV4 := append([]byte(fmt.Sprintf("c-max d3:sdp%d:", strLen)), bytes.Repeat([]byte("x"), strLen)...)
	maxV4 = append(maxV4, 'e')
	if len(maxV4) != 65507 {
		t.Fatalf("built %d bytes", len(maxV4))
	}
	manyKeys := "d"
	for i := range 300 {
		manyKeys += fmt.Sprintf("4:k%03d1:v", i)
	}
	manyKeys += "e"
	cases := []struct {
		name    string
		msg     []byte
		reason  string // exact error-reason; "" = no reply expected
		counter string // series that must grow by one
	}{
		{"nesting depth 10000", append([]byte("c-deep "), deepNesting(10000)...),
			"Could not decode bencode dictionary (nesting depth over 32)", invalidErrors},
		{"truncated bencode", []byte("c-trunc d7:command4:pin"),
			"Could not decode bencode dictionary (truncated)", invalidErrors},
		{"string longer than the datagram", []byte("c-len d3:sdp4294967295:v=0e"),
			"Could not decode bencode dictionary (truncated)", invalidErrors},
		{"non-bencode text", []byte("hello srtpgw, this is not bencode at all"),
			"Invalid NG data format", invalidErrors},
		{"bencode list, not a dictionary", []byte("c-list l4:pinge"),
			"Invalid NG data format", invalidErrors},
		{"300 dictionary keys", []byte("c-keys " + manyKeys),
			"Could not decode bencode dictionary (dictionary keys over 256)", invalidErrors},
		{"broken JSON", []byte(`c-json {"command":"offer","sdp":`),
			"Failed to parse JSON document (truncated)", invalidErrors},
		{"dictionary without command", []byte("c-nocmd d4:ping4:ponge"),
			`Dictionary contains no key "command"`, invalidErrors},
		{"largest IPv4 datagram", maxV4,
			`Dictionary contains no key "command"`, invalidErrors},
		{"no cookie (no space)", []byte("d7:command4:pinge"), "", dropped("no_cookie")},
		{"space at position 0", []byte(" d7:command4:pinge"), "", dropped("no_cookie")},
		{"cookie over 255 bytes", []byte(strings.Repeat("c", 300) + " d7:command4:pinge"), "", dropped("malformed")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := metric(t, d, tc.counter)
			cookie, _, _ := bytes.Cut(tc.msg, []byte{' '})
			wait := time.Second
			if tc.reason == "" {
				wait = 300 * time.Millisecond
			}
			rep, got := rawExchange(t, conn, tc.msg, string(cookie), wait)
			switch {
			case tc.reason == "" && got:
				t.Fatalf("reply %q to a datagram that must get none", ng.Encode(rep))
			case tc.reason != "" && !got:
				t.Fatal("no reply")
			case tc.reason != "":
				if r, _ := rep.Get("result").Str(); r != "error" || reasonOf(rep) != tc.reason {
					t.Fatalf("reply %q, want error %q", ng.Encode(rep), tc.reason)
				}
			}
			waitUntil(t, 2*time.Second, tc.counter+" +1", func() bool { return metric(t, d, tc.counter) == before+1 })
		})
	}
	if n := metric(t, d, "srtpgw_calls_started_total"); n != 0 {
		t.Fatalf("%v calls started by junk", n)
	}
	assertHealthy(t, d, "after-malformed@clinic")
}

// TestAbuseNGOversized: a datagram over the 65507-byte limit is dropped
// unparsed, without a reply, and counted as too_large (C4). No IPv4
// datagram can exceed the limit (65507 is IPv4's largest UDP payload), and
// 64 KiB exceeds any UDP payload, so the largest datagram there is, 65527
// bytes over IPv6 loopback, is sent. Over TCP ng a 1 MiB message is cut off
// at the limit and the connection closed.
func TestAbuseNGOversized(t *testing.T) {
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback (%v): it is the only way to send a UDP datagram over 65507 bytes", err)
	}
	probe.Close()
	d, _ := startTestDaemon(t, func(c *Config) {
		c.ListenNG = "[::1]:0"
		c.ListenTCPNG = "127.0.0.1:0"
		c.PortMin, c.PortMax = 26100, 26199
	})
	conn, err := net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(ngAddrOf(d)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const biggest = 65535 - 8 // IPv6 payload length minus the UDP header
	msg := append([]byte("c-big d3:sdp"), bytes.Repeat([]byte("x"), biggest-len("c-big d3:sdp"))...)
	before := metric(t, d, dropped("too_large"))
	if rep, got := rawExchange(t, conn, msg, "c-big", 500*time.Millisecond); got {
		t.Fatalf("reply %q to an oversized datagram", ng.Encode(rep))
	}
	waitUntil(t, 2*time.Second, "too_large +1", func() bool { return metric(t, d, dropped("too_large")) == before+1 })

	// TCP: a 1 MiB message claiming a 1 MiB SDP.
	before = metric(t, d, dropped("too_large"))
	tc, err := net.Dial("tcp", d.ngTCP.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	big := append([]byte("c-tcp d3:sdp1048576:"), bytes.Repeat([]byte("v"), 1<<20)...)
	// The server closes the stream once it holds MaxMessage bytes without
	// a whole message, so the write may fail part way: that is the point.
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	tc.Write(big)
	n, err := tc.Read(make([]byte, 64))
	if n != 0 || err == nil {
		t.Fatalf("TCP read after 1 MiB: %d bytes, %v; want the connection closed", n, err)
	}
	waitUntil(t, 2*time.Second, "TCP too_large +1", func() bool { return metric(t, d, dropped("too_large")) == before+1 })
	assertHealthy(t, d, "after-oversized@clinic")
}

// junkDatagrams builds n deterministic junk datagrams of every shape the
// ng server distinguishes: random bytes, cookie plus random bytes, cookie
// plus broken or deeply nested bencode, unknown commands, JSON garbage.
// Cookies start with prefix, and the random bytes are seeded by it, so that
// two rounds are not answered from the reply cache as retransmissions of
// each other.
func junkDatagrams(n int, prefix string) [][]byte {
	var seed uint64
	for _, c := range prefix {
		seed = seed*31 + uint64(c)
	}
	rng := rand.New(rand.NewPCG(1, seed))
	out := make([][]byte, n)
	for i := range out {
		cookie := fmt.Sprintf("%s%d ", prefix, i)
		switch i % 6 {
		case 0: // random bytes, usually without a usable cookie
			b := make([]byte, 20+rng.IntN(200))
			for k := range b {
				b[k] = byte(rng.UintN(256))
			}
			out[i] = b
		case 1:
			b := make([]byte, 100+rng.IntN(1000))
			for k := range b {
				b[k] = byte(rng.UintN(256))
			}
			out[i] = append([]byte(cookie+"d"), b...)
		case 2:
			out[i] = append([]byte(cookie), deepNesting(100+rng.IntN(900))...)
		case 3:
			out[i] = []byte(cookie + "d7:command" + fmt.Sprint(5+i%7) + ":" + strings.Repeat("z", 5+i%7) + "e")
		case 4:
			out[i] = []byte(cookie + "d7:command5:offer3:sdp" + fmt.Sprint(500) + ":v=0")
		case 5:
			out[i] = []byte(cookie + `{"command":["` + strings.Repeat("[", rng.IntN(64)))
		}
	}
	return out
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// ngHandled sums what the server did with datagrams: requests answered,
// by every result of the pseudo-commands junk lands on, drops, and cache
// hits (random junk can repeat a short cookie).
func ngHandled(t *testing.T, d *daemon) float64 {
	body := scrape(t, httpAddrOf(d))
	var sum float64
	for _, s := range []string{
		invalidErrors, `srtpgw_ng_requests_total{command="unknown",result="error"}`,
		`srtpgw_ng_requests_total{command="offer",result="error"}`,
		dropped("no_cookie"), dropped("malformed"), dropped("too_large"), dropped("not_allowed"),
		"srtpgw_ng_cache_hits_total",
	} {
		v, ok := metricIn(body, s)
		if !ok {
			t.Fatalf("series %s missing", s)
		}
		sum += v
	}
	return sum
}

// TestAbuseNGJunkFlood: 10 000 junk datagrams, twice.
//
// First as fast as one socket can send them: the daemon reads what it can
// and the kernel drops the rest at its socket buffer (the attacker cannot
// make it queue work), and it answers a ping right after.
//
// Then the same 10 000 in bursts of 25, each followed by an ng ping from
// another socket as a barrier (the daemon's receive queue is FIFO, so the
// pong means the burst was read): now every datagram is handled and
// counted. CPU (getrusage of the whole test process, so the sender's own
// syscalls and the pings are included: the bound is generous and cannot
// flake) stays low per datagram, the heap grows by no more than the reply
// cache's bounded entries, and no call is created.
func TestAbuseNGJunkFlood(t *testing.T) {
	const n = 10000
	d, _ := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 26200, 26299 })
	junk, paced := junkDatagrams(n, "f"), junkDatagrams(n, "p")
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ngAddrOf(d)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() { // drain replies so that they cost the daemon a real send
		buf := make([]byte, 1<<16)
		for {
			if _, err := conn.Read(buf); err != nil && !isTimeout(err) {
				return
			}
		}
	}()
	pinger, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer pinger.Close()
	ping := func() {
		t.Helper()
		if _, err := pinger.call(ng.E("command", ng.String("ping"))); err != nil {
			t.Fatalf("ping during the flood: %v", err)
		}
	}
	settled := func(from float64) float64 { // handled so far, once it stops moving
		for last := -1.0; ; time.Sleep(100 * time.Millisecond) {
			h := ngHandled(t, d) - from
			if h == last {
				return h
			}
			last = h
		}
	}

	h0 := ngHandled(t, d)
	for _, m := range junk {
		conn.Write(m)
	}
	ping()
	fast := settled(h0)
	t.Logf("unpaced: %d sent, %.0f handled, the rest dropped by the kernel at the socket buffer", n, fast)
	if fast < 1 || fast > n {
		t.Fatalf("unpaced flood: %.0f of %d handled", fast, n)
	}

	h0 = ngHandled(t, d)
	entries0 := metric(t, d, "srtpgw_ng_cache_entries")
	heap0 := heapAfterGC()
	cpu0 := cpuTime()
	for i, m := range paced {
		conn.Write(m)
		if i%25 == 24 {
			ping()
		}
	}
	handled := settled(h0)
	cpu := cpuTime() - cpu0
	heap := int64(heapAfterGC()) - int64(heap0)
	runtime.KeepAlive(paced)
	entries := metric(t, d, "srtpgw_ng_cache_entries") - entries0
	perDatagram := cpu / time.Duration(n)
	t.Logf("paced: %.0f of %d handled; CPU %v (%v per datagram, sender and pings included); heap %+d B; reply cache +%.0f entries",
		handled, n, cpu.Round(time.Millisecond), perDatagram, heap, entries)
	if handled != n {
		t.Fatalf("paced flood: %.0f of %d datagrams handled", handled, n)
	}
	if bound := junkCPUBound * raceFactor; perDatagram > bound {
		t.Fatalf("%v CPU per junk datagram, bound %v", perDatagram, bound)
	}
	// Every cookie'd junk datagram leaves its (small) error reply in the
	// reply cache for 60 s, which CacheMax bounds; nothing else may stay.
	if limit := int64(entries)*1024 + 4<<20; heap > limit {
		t.Fatalf("heap grew %d B over the flood; cache entries +%.0f allow %d B", heap, entries, limit)
	}
	if v := metric(t, d, "srtpgw_calls_started_total"); v != 0 {
		t.Fatalf("%v calls started by junk", v)
	}
	assertHealthy(t, d, "after-flood@clinic")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// junkCPUBound is the CPU one junk datagram may cost the process (daemon
// and sender together). Measured at about 20 µs; 20x that is still cheap
// against the millisecond a DTLS handshake costs.
const junkCPUBound = 400 * time.Microsecond
