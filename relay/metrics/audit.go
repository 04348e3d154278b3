package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/srtpgw/srtpgw/relay/audit"
)

type auditDescs struct {
	records, lost, writeErrors, syncErrors *prometheus.Desc
	lastWrite, lastCheckpoint              *prometheus.Desc
	backlog, healthy                       *prometheus.Desc
}

func newAuditDescs() auditDescs {
	return auditDescs{
		records: desc("audit_records_total",
			"Call-log records written to the file, by record type.", "type"),
		lost: desc("audit_records_lost_total",
			"Call-log records refused because the backlog was full (never logged; summarised in a records_lost record), by type.", "type"),
		writeErrors: desc("audit_write_errors_total",
			"Failed call-log write, truncate or rotate attempts."),
		syncErrors: desc("audit_sync_errors_total",
			"Failed call-log fsync attempts."),
		lastWrite: desc("audit_last_write_timestamp_seconds",
			"Unix time of the last successful call-log write; 0 before the first."),
		lastCheckpoint: desc("audit_last_checkpoint_timestamp_seconds",
			"Unix time of the last signed checkpoint written; 0 before the first."),
		backlog: desc("audit_backlog_records",
			"Call-log records waiting in memory to be written."),
		healthy: desc("audit_healthy",
			"1 while every call-log record is written and synced as the policy requires, else 0."),
	}
}

func (d *auditDescs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{
		d.records, d.lost, d.writeErrors, d.syncErrors,
		d.lastWrite, d.lastCheckpoint, d.backlog, d.healthy,
	} {
		ch <- x
	}
}

func (d *auditDescs) collect(e emitter, s audit.Stats) {
	e.counters(d.records, auditTypes, tally(auditTypes, s.Records, identity))
	e.counters(d.lost, auditTypes, tally(auditTypes, s.Lost, identity))
	e.counter(d.writeErrors, s.WriteErrors)
	e.counter(d.syncErrors, s.SyncErrors)
	e.gauge(d.lastWrite, unixSeconds(s.LastWrite))
	e.gauge(d.lastCheckpoint, unixSeconds(s.LastCheckpoint))
	e.gauge(d.backlog, float64(s.Backlog))
	e.gauge(d.healthy, boolValue(s.Healthy))
}

// unixSeconds is the Prometheus timestamp convention: seconds since the
// epoch as a float, and 0 for "never" so time() - x alerts fire on it.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
