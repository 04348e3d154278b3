package metrics

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/srtpgw/srtpgw/relay/audit"
)

// TestScrapeRealAuditLog writes a few records through a real call log and
// checks the scrape, including that every record type the log reports is
// in the collector's list (audit does not export its own).
func TestScrapeRealAuditLog(t *testing.T) {
	dir := t.TempDir()
	l, err := audit.Open(audit.Config{Path: filepath.Join(dir, "calls.jsonl"), KeyPath: filepath.Join(dir, "audit.key")})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry(Sources{Audit: l}, BuildInfo{})
	if err := l.Startup("test", "digest", "sha-256 00"); err != nil {
		t.Fatal(err)
	}
	// An attacker-chosen command and call-id travel into the record, never
	// into a label.
	if err := l.ControlRejected(netip.MustParseAddrPort(addrPort), phoneNumber, callID, "not allowed"); err != nil {
		t.Fatal(err)
	}
	fams := gather(t, reg)
	for _, tc := range []struct {
		typ  string
		want float64
	}{{"log_open", 1}, {"startup", 1}, {"control_rejected", 1}, {"call_end", 0}} {
		if got, ok := value(fams, "srtpgw_audit_records_total", labels("type", tc.typ)); !ok || got != tc.want {
			t.Errorf("audit_records_total{type=%q} = %v (present %v), want %v", tc.typ, got, ok, tc.want)
		}
	}
	if v, _ := value(fams, "srtpgw_audit_records_total", labels("type", "checkpoint")); v < 1 {
		t.Errorf("no checkpoint counted after Open (got %v)", v)
	}
	if v, _ := value(fams, "srtpgw_audit_healthy", nil); v != 1 {
		t.Errorf("audit_healthy = %v, want 1", v)
	}
	if v, _ := value(fams, "srtpgw_audit_last_write_timestamp_seconds", nil); v < 1.7e9 {
		t.Errorf("audit_last_write_timestamp_seconds = %v, want a current Unix time", v)
	}
	if _, ok := value(fams, "srtpgw_audit_records_total", labels("type", unknown)); ok {
		t.Error("a real record type was folded into unknown")
	}
	for typ := range l.Stats().Records {
		if _, ok := auditTypes.index[typ]; !ok {
			t.Errorf("audit reports record type %q the collector does not list", typ)
		}
	}
	checkLabels(t, fams)

	if err := l.Shutdown("test over"); err != nil {
		t.Fatal(err)
	}
	fams = gather(t, reg)
	if v, _ := value(fams, "srtpgw_audit_healthy", nil); v != 0 {
		t.Errorf("audit_healthy after Shutdown = %v, want 0", v)
	}
	if v, _ := value(fams, "srtpgw_audit_records_total", labels("type", "shutdown")); v != 1 {
		t.Errorf("shutdown record not counted (got %v)", v)
	}
}
