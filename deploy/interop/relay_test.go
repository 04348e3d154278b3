package interop

import (
	"strings"
	"testing"
)

func TestRelayKind(t *testing.T) {
	tests := []struct {
		env, want string
		wantErr   bool
	}{
		{"", "srtpgw", false},
		{"srtpgw", "srtpgw", false},
		{"rtpengine", "rtpengine", false},
		{"mediaproxy", "", true},
	}
	for _, tt := range tests {
		t.Setenv(RelayEnv, tt.env)
		got, err := RelayKind()
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s=%q: %q, %v", RelayEnv, tt.env, got, err)
		}
	}
}

func TestRelayArgs(t *testing.T) {
	c := RelayConfig{LAN: "127.0.0.2", WAN: "127.0.0.3", PortMin: 26000, PortMax: 26999, RTPengineArgs: []string{"--log-level-ice=7"}}
	got, err := rtpengineArgs(c, "127.0.0.1:2223")
	if err != nil {
		t.Fatal(err)
	}
	want := "--config-file=none --foreground --log-stderr --table=-1 --interface=lan/127.0.0.2 --interface=wan/127.0.0.3 " +
		"--listen-ng=127.0.0.1:2223 --port-min=26000 --port-max=26999 " +
		"--log-level=6 --log-level-control=7 --log-level-crypto=6 --log-level-srtp=6 --log-level-ice=7"
	if strings.Join(got, " ") != want {
		t.Errorf("rtpengine args\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, bad := range []string{"--log-level-crypto=7", "--log-level-srtp=7"} {
		c.RTPengineArgs = []string{bad}
		if _, err := rtpengineArgs(c, "127.0.0.1:2223"); err == nil {
			t.Errorf("%s accepted: rtpengine would log keys", bad)
		}
	}
	got = srtpgwArgs(c, "127.0.0.1:2223", "/tmp/x")
	want = "--interface lan/127.0.0.2 --interface wan/127.0.0.3 --listen-ng 127.0.0.1:2223 --port-min 26000 --port-max 26999 " +
		"--listen-http  --audit-log /tmp/x/audit.jsonl --log-level debug"
	if strings.Join(got, " ") != want {
		t.Errorf("srtpgw args\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}
