package main

import (
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.AuditLog = "/tmp/x/audit.jsonl"
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.bindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func TestDefaultsAreValidAndLoopback(t *testing.T) {
	cfg, err := parse(t, nil, nil)
	if err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if cfg.ListenNG != "127.0.0.1:2223" || !cfg.Interfaces[0].Addr.IsLoopback() || !strings.HasPrefix(cfg.ListenHTTP, "127.0.0.1:") {
		t.Fatalf("defaults not loopback: %+v", cfg)
	}
	if cfg.AuditLog == "" {
		t.Fatal("call log off by default")
	}
}

func TestFlagsFollowRtpengine(t *testing.T) {
	cfg, err := parse(t, []string{
		"--interface", "lan/10.0.0.2", "--interface", "wan/192.0.2.10!203.0.113.10",
		"--listen-ng", "10.0.0.2:2223", "--ng-allow", "10.0.0.0/24,10.0.1.5",
		"--port-min", "20000", "--port-max", "29999", "--timeout", "90", "--silent-timeout", "2h",
		"--final-timeout", "0", "--delete-delay", "5", "--max-sessions", "-1",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Interfaces) != 2 || cfg.Interfaces[1].Advertised != netip.MustParseAddr("203.0.113.10") || cfg.Interfaces[0].Name != "lan" {
		t.Fatalf("interfaces %+v", cfg.Interfaces)
	}
	if cfg.Timeout != 90*time.Second || cfg.SilentTimeout != 2*time.Hour || cfg.DeleteDelay != 5*time.Second {
		t.Fatalf("timeouts %v %v %v", cfg.Timeout, cfg.SilentTimeout, cfg.DeleteDelay)
	}
	if len(cfg.NGAllow) != 2 || cfg.NGAllow[1] != netip.MustParsePrefix("10.0.1.5/32") {
		t.Fatalf("ng-allow %v", cfg.NGAllow)
	}
	if rc := cfg.relayConfig(); rc.MaxSessions != 0 {
		t.Fatalf("--max-sessions -1 gave %d, want unlimited (0)", rc.MaxSessions)
	}
}

func TestEnvFallback(t *testing.T) {
	env := map[string]string{"SRTPGW_PORT_MIN": "31000", "SRTPGW_PORT_MAX": "31999", "SRTPGW_INTERFACE": "lan/127.0.0.2,wan/127.0.0.3"}
	cfg, err := parse(t, []string{"--port-max", "32999"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PortMin != 31000 || cfg.PortMax != 32999 {
		t.Fatalf("port range %d-%d: env should fill, flags should win", cfg.PortMin, cfg.PortMax)
	}
	if len(cfg.Interfaces) != 2 {
		t.Fatalf("SRTPGW_INTERFACE gave %v", cfg.Interfaces)
	}
	if _, err := parse(t, nil, map[string]string{"SRTPGW_TIMEOUT": "soon"}); err == nil || !strings.Contains(err.Error(), "SRTPGW_TIMEOUT") {
		t.Fatalf("bad env value: %v", err)
	}
}

func TestValidateRefusals(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--listen-ng", "0.0.0.0:2223"}, "--ng-allow"},
		{[]string{"--listen-ng", "10.1.2.3:2223"}, "--ng-allow"},
		{[]string{"--listen-tcp-ng", "0.0.0.0:2224"}, "--ng-allow"},
		{[]string{"--listen-http", "0.0.0.0:9323"}, "--http-token-file"},
		{[]string{"--port-min", "40000", "--port-max", "30000"}, "--port-min"},
		{[]string{"--port-min", "30000", "--port-max", "30001"}, "too small"},
		{[]string{"--port-min", "80", "--port-max", "30001"}, "1024"},
		{[]string{"--listen-ng", "127.0.0.1:30010"}, "inside the media range"},
		{[]string{"--listen-http", "127.0.0.1:30010"}, "inside the media range"},
		{[]string{"--listen-ng", ":2223"}, "give an address"},
		{[]string{"--listen-ng", "localhost:2223"}, "not an IP address"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--audit-log", ""}, "cannot be switched off"},
		{[]string{"--interface", "0.0.0.0"}, "bind a specific address"},
		{[]string{"--cert-validity", "24h", "--cert-rotate", "24h"}, "--cert-validity"},
		{[]string{"--timeout", "0"}, "--timeout"},
	}
	for _, tc := range cases {
		_, err := parse(t, tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	// With an allowlist a public ng listener is fine.
	if _, err := parse(t, []string{"--listen-ng", "0.0.0.0:2223", "--ng-allow", "10.0.0.0/8"}, nil); err != nil {
		t.Fatalf("allowlisted ng refused: %v", err)
	}
}

func TestEnvNames(t *testing.T) {
	if got := envName("silent-timeout"); got != "SRTPGW_SILENT_TIMEOUT" {
		t.Fatal(got)
	}
}

func TestHealthcheckURL(t *testing.T) {
	for in, want := range map[string]string{
		"":               "http://127.0.0.1:9323/readyz",
		"127.0.0.1:9400": "http://127.0.0.1:9400/readyz",
		"0.0.0.0:9323":   "http://127.0.0.1:9323/readyz",
		"10.1.2.3:9323":  "http://10.1.2.3:9323/readyz",
		"[fd00::5]:9323": "http://[fd00::5]:9323/readyz",
		"garbage":        "http://127.0.0.1:9323/readyz",
	} {
		if got := healthcheckURL(in); got != want {
			t.Errorf("healthcheckURL(%q) = %q, want %q", in, got, want)
		}
	}
}
