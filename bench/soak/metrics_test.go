package main

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Metrics
		err  bool
	}{
		{"plain", "go_goroutines 14\n", Metrics{"go_goroutines": 14}, false},
		{"labels", `srtpgw_packets_total{direction="phone_to_upstream",kind="rtp"} 1.5e+06` + "\n",
			Metrics{`srtpgw_packets_total{direction="phone_to_upstream",kind="rtp"}`: 1.5e6}, false},
		{"label value with spaces and a timestamp", `x{a="b c"} 3 1700000000000` + "\n", Metrics{`x{a="b c"}`: 3}, false},
		{"comments and blank lines", "# HELP x y\n# TYPE x gauge\n\nx 1\n", Metrics{"x": 1}, false},
		{"special values", "a NaN\nb +Inf\n", nil, false},
		{"no value", "lonely\n", nil, true},
		{"bad value", "x one\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMetrics(strings.NewReader(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if tc.want == nil {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestMetricsSum(t *testing.T) {
	m := Metrics{`p{d="up"}`: 2, `p{d="down"}`: 3, "p": 1, "pp": 100, `pq{d="x"}`: 100}
	if s := m.Sum("p"); s != 6 {
		t.Fatalf("Sum(p) = %v, want 6 (other names with the same prefix excluded)", s)
	}
}

func TestHasKey(t *testing.T) {
	rep := map[string]any{"tags": map[string]any{"a": map[string]any{"medias": []any{
		map[string]any{"streams": []any{map[string]any{"crypto suite": "AES_CM_128_HMAC_SHA1_80"}}}}}}}
	if !hasKey(rep, "crypto suite") {
		t.Fatal("nested key not found")
	}
	if hasKey(map[string]any{"result": "ok", "x": []any{"crypto suite"}}, "crypto suite") {
		t.Fatal("a string value was taken for a key")
	}
}

func TestColonHex(t *testing.T) {
	if got := colonHex([]byte{0x0a, 0xff, 0x10}); got != "0A:FF:10" {
		t.Fatalf("%q", got)
	}
}

func TestFreePortOutside(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		// The kernel's ephemeral range is 32768-60999 by default: exclude
		// all of it and the port must still land outside.
		p, err := freePortOutside(network, 1024, 60999)
		if err != nil {
			t.Fatal(err)
		}
		if p >= 1024 && p <= 60999 {
			t.Fatalf("%s port %d inside the excluded range", network, p)
		}
	}
}
