package metrics

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
)

// TestAbsentSources: nil sources, and typed nil pointers as the daemon
// passes for a component that is off, leave their metrics out instead of
// panicking in a scrape goroutine.
func TestAbsentSources(t *testing.T) {
	cases := []struct {
		name    string
		src     Sources
		present []string
		absent  []string
	}{
		{"none", Sources{}, nil, []string{"srtpgw_calls_active", "srtpgw_ng_cache_hits_total", "srtpgw_audit_healthy"}},
		{"typed nil pointers", Sources{Relay: (*relay.Relay)(nil), NG: (*ng.Server)(nil), Audit: (*audit.Log)(nil)},
			nil, []string{"srtpgw_calls_active", "srtpgw_ng_cache_hits_total", "srtpgw_audit_healthy"}},
		{"relay only", Sources{Relay: fakeRelay{}},
			[]string{"srtpgw_calls_active", "srtpgw_upstream_plaintext_packets_total"}, []string{"srtpgw_ng_cache_hits_total", "srtpgw_audit_healthy"}},
		{"ng only", Sources{NG: fakeNG{}},
			[]string{"srtpgw_ng_cache_hits_total", "srtpgw_ng_requests_total"}, []string{"srtpgw_calls_active", "srtpgw_audit_healthy"}},
		{"audit only", Sources{Audit: fakeAudit{}},
			[]string{"srtpgw_audit_healthy", "srtpgw_audit_last_write_timestamp_seconds"}, []string{"srtpgw_calls_active", "srtpgw_ng_cache_hits_total"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fams := gather(t, NewRegistry(tc.src, BuildInfo{}))
			if _, ok := value(fams, "srtpgw_build_info", nil); !ok {
				t.Error("build_info missing")
			}
			for _, n := range tc.present {
				if _, ok := value(fams, n, nil); !ok {
					t.Errorf("%s missing", n)
				}
			}
			for _, n := range tc.absent {
				if _, ok := value(fams, n, nil); ok {
					t.Errorf("%s present without its source", n)
				}
			}
		})
	}
}

func TestEmptySnapshotValues(t *testing.T) {
	fams := gather(t, NewRegistry(Sources{Audit: fakeAudit{}}, BuildInfo{}))
	for _, n := range []string{"srtpgw_audit_last_write_timestamp_seconds", "srtpgw_audit_last_checkpoint_timestamp_seconds", "srtpgw_audit_healthy"} {
		if v, _ := value(fams, n, nil); v != 0 {
			t.Errorf("%s = %v for a zero snapshot, want 0", n, v)
		}
	}
}

func TestBuildInfoLabels(t *testing.T) {
	cases := []struct {
		in   BuildInfo
		want BuildInfo
	}{
		{BuildInfo{}, BuildInfo{Version: unknown, GoVersion: runtime.Version(), Revision: unknown}},
		{BuildInfo{Version: "v1", GoVersion: "go1", Revision: "abc"}, BuildInfo{Version: "v1", GoVersion: "go1", Revision: "abc"}},
		{BuildInfo{Version: "v1\n\x00\xff", Revision: "\x01"}, BuildInfo{Version: "v1", GoVersion: runtime.Version(), Revision: unknown}},
		{BuildInfo{Version: strings.Repeat("é", 40)}, BuildInfo{Version: strings.Repeat("é", 32), GoVersion: runtime.Version(), Revision: unknown}},
	}
	for _, tc := range cases {
		if got := tc.in.normalized(); got != tc.want {
			t.Errorf("normalized(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	fams := gather(t, NewRegistry(Sources{}, BuildInfo{Version: "v9", Revision: "r1"}))
	if v, ok := value(fams, "srtpgw_build_info", labels("version", "v9", "revision", "r1", "goversion", runtime.Version())); !ok || v != 1 {
		t.Errorf("srtpgw_build_info = %v (present %v), want 1", v, ok)
	}
}

// TestHandler serves a scrape in the text format.
func TestHandler(t *testing.T) {
	h := Handler(NewRegistry(goldenSources(), goldenBuild))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"srtpgw_calls_active 3\n", `srtpgw_calls_total{end_reason="delete"} 30`, "go_goroutines", "process_"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
