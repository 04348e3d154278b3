package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
	"github.com/srtpgw/srtpgw/relay/sim"
)

func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.ListenNG = "127.0.0.1:0"
	cfg.ListenHTTP = "127.0.0.1:0"
	cfg.PortMin, cfg.PortMax = 25000, 25999
	cfg.DeleteDelay = 0
	cfg.AuditLog = filepath.Join(t.TempDir(), "audit.jsonl")
	return cfg
}

// placeDemoCall drives one call through a daemon over ng with simulated
// peers and returns them once media flows both ways.
func placeDemoCall(t *testing.T, ngAddr netip.AddrPort, callID string) (*sim.Phone, *sim.Upstream, *ngClient) {
	t.Helper()
	host := netip.MustParseAddr("127.0.0.1")
	phone, err := sim.NewPhone(host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(phone.Close)
	up, err := sim.NewUpstream(sim.UpstreamConfig{Addr: host, Setup: "passive", Mux: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	c, err := dialNG(ngAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	rep, err := c.call(ng.E("command", ng.String("offer")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String("ft")), ng.E("sdp", ng.Bytes(phone.OfferSDP(1))),
		ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP")), ng.E("rtcp-mux", strs("offer")))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := up.Answer(rep.Get("sdp").Bytes())
	if err != nil {
		t.Fatal(err)
	}
	rep, err = c.call(ng.E("command", ng.String("answer")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String("ft")), ng.E("to-tag", ng.String("tt")), ng.E("sdp", ng.Bytes(ans)))
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.SetRemote(rep.Get("sdp").Bytes()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := up.Connect(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := waitKeys(c, callID); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := phone.SendRTP(bytes.Repeat([]byte{byte(i)}, 160)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := up.Received()
		if len(got) == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upstream received %d of 10", len(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return phone, up, c
}

// readRecords reads every record of the call log (all its files); a line
// that is not JSON fails the test.
func readRecords(t *testing.T, path string) []map[string]any { return records(t, path, true) }

// records reads the call log's records. With strict false a line that is
// not JSON is skipped: the daemon may be appending to the log, and a last
// line caught mid-write is not a fault.
func records(t *testing.T, path string, strict bool) []map[string]any {
	t.Helper()
	files, err := audit.Files(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				if strict {
					t.Fatalf("%s: %v", f, err)
				}
				continue
			}
			recs = append(recs, m)
		}
	}
	return recs
}

func recordTypes(recs []map[string]any) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprint(r["type"]))
	}
	return out
}

// TestDaemonCallAndShutdown: a call over ng through the in-process daemon;
// shutdown ends it with a final call_end, and the log verifies.
func TestDaemonCallAndShutdown(t *testing.T) {
	cfg := testConfig(t)
	d, err := startDaemon(cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	ngAddr := d.ngUDP.LocalAddr().(*net.UDPAddr).AddrPort()
	placeDemoCall(t, ngAddr, "live@clinic")

	resp, err := http.Get("http://" + d.httpLn.Addr().String() + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()

	d.shutdown("test")
	recs := readRecords(t, cfg.AuditLog)
	types := strings.Join(recordTypes(recs), ",")
	for _, want := range []string{"startup", "call_start", "dtls_established", "call_end", "shutdown", "checkpoint"} {
		if !strings.Contains(types, want) {
			t.Fatalf("record %s missing: %s", want, types)
		}
	}
	for _, r := range recs {
		if r["type"] == "call_end" && r["end_reason"] != "shutdown" {
			t.Fatalf("call_end reason %v, want shutdown", r["end_reason"])
		}
	}
	files, _ := audit.Files(cfg.AuditLog)
	if _, err := audit.Verify(files, d.audit.PublicKey()); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestDemo runs the README's main command in-process.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "-duration", "1s"}, &out, &errb); code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"VERDICT: PASS", "0 plaintext packets upstream", "verified", "DTLS-SRTP established"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBinarySIGTERM builds the real binary, places a call, sends SIGTERM
// and expects exit 0 in bounded time with the call recorded as ended.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSrtpgw(t)
	dir := t.TempDir()
	ngPort := freeUDPPort(t)
	cmd := exec.Command(bin, "--listen-ng", fmt.Sprintf("127.0.0.1:%d", ngPort), "--listen-http", "",
		"--port-min", "22000", "--port-max", "22999", "--audit-log", filepath.Join(dir, "audit.jsonl"), "--delete-delay", "0")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitUDP(t, ngPort)
	placeDemoCall(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(ngPort)), "sigterm@clinic")
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(shutdownBound + 5*time.Second):
		t.Fatalf("no exit within %v after SIGTERM\n%s", shutdownBound, logs.String())
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	recs := readRecords(t, filepath.Join(dir, "audit.jsonl"))
	ended := false
	for _, r := range recs {
		if r["type"] == "call_end" && r["end_reason"] == "shutdown" {
			ended = true
		}
	}
	if !ended {
		t.Fatalf("no call_end with end_reason shutdown: %v", recordTypes(recs))
	}
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitUDP waits until an ng ping on port is answered.
func waitUDP(t *testing.T, port int) {
	t.Helper()
	if err := pingNG(port, 15*time.Second); err != nil {
		t.Fatalf("daemon not answering ng: %v", err)
	}
}

// pingNG retries an ng ping on 127.0.0.1:port until it is answered.
func pingNG(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := dialNG(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
		if err != nil {
			return err
		}
		_, err = c.call(ng.E("command", ng.String("ping")))
		c.Close()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
