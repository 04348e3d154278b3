package metrics

import (
	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/ng"
)

// unknown is the label value for anything outside an enumeration.
const unknown = "unknown"

// enum is a fixed set of label values. Sources report counters in maps
// keyed by strings; only keys in the set become label values, the rest are
// summed under "unknown". That is what keeps an attacker-chosen ng command
// string or a call-id that strayed into a map out of the scrape (security
// requirement C5: no PHI in labels).
type enum struct {
	values []string
	index  map[string]int
}

func newEnum(values ...string) enum {
	e := enum{values: values, index: make(map[string]int, len(values))}
	for i, v := range values {
		e.index[v] = i
	}
	return e
}

// slot returns the index of s, or of "unknown": that is the enumeration's
// own "unknown" entry when it has one (ng's command list does), else the
// extra slot len(values).
func (e enum) slot(s string) int {
	if i, ok := e.index[s]; ok {
		return i
	}
	if i, ok := e.index[unknown]; ok {
		return i
	}
	return len(e.values)
}

// label is the label value of slot i.
func (e enum) label(i int) string {
	if i < len(e.values) {
		return e.values[i]
	}
	return unknown
}

// size counts the slots, the extra "unknown" one included.
func (e enum) size() int { return len(e.values) + 1 }

// tally folds a counter map onto e. The result has e.size() entries; the
// last is non-zero only when the source reported a key outside e.
func tally[K comparable](e enum, m map[K]uint64, name func(K) string) []uint64 {
	out := make([]uint64, e.size())
	for k, v := range m {
		out[e.slot(name(k))] += v
	}
	return out
}

func identity(s string) string { return s }

// Enumerations. Those the sources export are taken from them so a new drop
// reason or ng command appears in the scrape without a change here.
var (
	directions = newEnum(relay.DirPhoneToUpstream, relay.DirUpstreamToPhone)
	kinds      = newEnum("rtp", "rtcp")

	dropReasons = newEnum(mapStrings(relay.DropReasons(), relay.DropReason.String)...)
	endReasons  = newEnum(mapStrings(relay.EndReasons(), func(r relay.EndReason) string { return string(r) })...)

	// handshakeResults are relay's DTLS handshake outcomes (relay/dtls.go
	// handshakeResultNames, which is not exported; the real-call test
	// checks that every key relay reports is listed here).
	handshakeResults = newEnum("ok", "fingerprint_mismatch", "timeout", "limited", "error")

	// ngCommands comes from the ng command table and already ends in
	// "unknown" and "invalid", so a command string a client made up maps
	// to ng's own "unknown".
	ngCommands = newEnum(ng.Commands()...)
	ngResults  = newEnum(ng.Results()...)
	ngDrops    = newEnum(ng.DropReasons()...)

	// auditTypes are the record types of relay/audit/FORMAT.md §3 (the
	// audit package keeps its constants unexported).
	auditTypes = newEnum("log_open", "checkpoint", "rotate", "records_lost", "startup", "shutdown",
		"call_start", "dtls_established", "dtls_failed", "call_end", "security", "control_rejected")
)

func mapStrings[T any](in []T, f func(T) string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
