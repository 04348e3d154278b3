package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	return string(b)
}

// encodings are the ways a leaked key could be written.
func encodings(k []byte) []string {
	return []string{
		hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
		base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k),
		base64.URLEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k),
		string(k),
	}
}

// TestNoKeyMaterialAnywhere runs a full call at debug log level and asserts
// that no SRTP master key or salt of the call appears, in any common
// encoding, in any log line, call-log record or metric.
func TestNoKeyMaterialAnywhere(t *testing.T) {
	cfg := testConfig(t)
	cfg.LogLevel = "debug"
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := startDaemon(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ngAddr := d.ngUDP.LocalAddr().(*net.UDPAddr).AddrPort()
	_, up, c := placeDemoCall(t, ngAddr, "keys@clinic")
	keys := up.KeyMaterial()
	if len(keys) < 4 {
		t.Fatalf("only %d key parts captured", len(keys))
	}
	if _, err := c.call(ng.E("command", ng.String("query")), ng.E("call-id", ng.String("keys@clinic"))); err != nil {
		t.Fatal(err)
	}
	metrics := scrape(t, d.httpLn.Addr().String())
	if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String("keys@clinic"))); err != nil {
		t.Fatal(err)
	}
	d.shutdown("test")
	var callLog bytes.Buffer
	files, _ := audit.Files(cfg.AuditLog)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		callLog.Write(b)
	}
	if !strings.Contains(logs.String(), "level=DEBUG") || callLog.Len() == 0 || !strings.Contains(metrics, "srtpgw_calls_started_total 1") {
		t.Fatalf("nothing to search: %d log bytes, %d call-log bytes, metrics ok=%v",
			len(logs.String()), callLog.Len(), strings.Contains(metrics, "srtpgw_calls_started_total"))
	}
	for _, where := range []struct{ name, text string }{
		{"logs", logs.String()}, {"call log", callLog.String()}, {"metrics", metrics},
	} {
		for i, k := range keys {
			if len(k) < 12 {
				t.Fatalf("key part %d is only %d bytes", i, len(k))
			}
			for _, enc := range encodings(k) {
				if strings.Contains(where.text, enc) {
					t.Fatalf("key part %d found in %s as %q", i, where.name, enc)
				}
			}
		}
		if strings.Contains(where.text, "inline:") {
			t.Fatalf("SDES key syntax in %s", where.name)
		}
	}
}

// TestScrapeAfterCall: the expected counters after one scripted call, and
// the plaintext counter at 0, on the daemon's real /metrics.
func TestScrapeAfterCall(t *testing.T) {
	cfg := testConfig(t)
	d, err := startDaemon(cfg, newLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown("test")
	_, _, c := placeDemoCall(t, d.ngUDP.LocalAddr().(*net.UDPAddr).AddrPort(), "scrape@clinic")
	if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String("scrape@clinic"))); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, d.httpLn.Addr().String())
	for _, want := range []string{
		"srtpgw_calls_started_total 1",
		`srtpgw_calls_total{end_reason="delete"} 1`,
		"srtpgw_calls_active 0",
		`srtpgw_packets_total{direction="phone_to_upstream",kind="rtp"} 10`,
		`srtpgw_dtls_handshakes_total{result="ok"} 1`,
		"srtpgw_upstream_plaintext_packets_total 0",
		`srtpgw_ng_requests_total{command="offer",result="ok"} 1`,
		"srtpgw_audit_healthy 1",
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// TestKillDashNine: kill -9 the real binary mid-call; after a restart the
// open call is closed with gateway_restart, and `srtpgw audit verify` with
// the public key passes over the whole log.
func TestKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildSrtpgw(t)
	dir := t.TempDir()
	auditLog := filepath.Join(dir, "audit.jsonl")
	start := func() (*exec.Cmd, int, *bytes.Buffer) {
		port := freeUDPPort(t)
		cmd := exec.Command(bin, "--listen-ng", fmt.Sprintf("127.0.0.1:%d", port), "--listen-http", "",
			"--port-min", "21000", "--port-max", "21999", "--audit-log", auditLog)
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if err := pingNG(port, 15*time.Second); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("daemon not answering ng: %v\n%s", err, logs.String())
		}
		return cmd, port, &logs
	}
	cmd, port, _ := start()
	placeDemoCall(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), "crash@clinic")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	cmd2, _, logs2 := start()
	if err := cmd2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd2.Wait(); err != nil {
		t.Fatalf("restarted daemon: %v\n%s", err, logs2)
	}
	recs := readRecords(t, auditLog)
	var recovered bool
	for _, r := range recs {
		if r["type"] == "call_end" && r["end_reason"] == "gateway_restart" {
			call, _ := r["call"].(map[string]any)
			recovered = call != nil && call["call_id"] == "crash@clinic"
		}
	}
	if !recovered {
		t.Fatalf("no gateway_restart call_end for the open call: %v", recordTypes(recs))
	}
	files, _ := audit.Files(auditLog)
	args := append([]string{"audit", "verify", "--pubkey", filepath.Join(dir, "audit.key.pub")}, files...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verified") {
		t.Fatalf("srtpgw audit verify: %v\n%s", err, out)
	}
	t.Logf("verify: %s", strings.TrimSpace(string(out)))
}
