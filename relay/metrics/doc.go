// Package metrics is srtpgw's one Prometheus collector (DESIGN §7).
//
// It reads the relay's, the ng server's and the call log's counters at
// scrape time and turns them into const metrics. Nothing Prometheus sits on
// the packet path: the relay keeps per-stream atomics and this package sums
// them only when /metrics is scraped (DESIGN §3).
//
// Every label value is drawn from a fixed enumeration (drop reasons, end
// reasons, ng command names, audit record types, ...). A value a source
// reports that is not in its enumeration is folded into "unknown", so a
// call-id, tag, phone number or address can never become a label, whatever
// a source or a remote client puts in its maps (security requirement C5).
//
// README.md in this directory documents every metric.
package metrics
