package ng

import (
	"sync/atomic"
	"time"
)

// Request results, as statistics labels. A small fixed set (DESIGN §7).
const (
	ResultOK        = "ok"
	ResultPong      = "pong"
	ResultError     = "error"
	ResultLoadLimit = "load_limit"
	ResultRefused   = "refused" // disabled command or relay.PolicyError
)

// Reasons a datagram was dropped without a reply.
const (
	DropNoCookie   = "no_cookie"   // no space, or a space at position 0
	DropTooLarge   = "too_large"   // over Config.MaxMessage
	DropMalformed  = "malformed"   // cookie too long, or a TCP stream out of frame
	DropNotAllowed = "not_allowed" // source outside Config.Allow
)

// Results and DropReasons list every label value.
func Results() []string {
	return []string{ResultOK, ResultPong, ResultError, ResultLoadLimit, ResultRefused}
}

// DropReasons lists every drop reason.
func DropReasons() []string {
	return []string{DropNoCookie, DropTooLarge, DropMalformed, DropNotAllowed}
}

// DurationBuckets are the upper bounds, in seconds, of the request
// duration histogram. Kamailio waits 1 s per try, so resolution is spent
// below that.
var DurationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Stats is a snapshot of the server's counters for the metrics collector.
// Counters only grow. Duplicates answered from the reply cache count as
// CacheHits, not as requests.
type Stats struct {
	Requests  map[RequestKey]uint64 // non-zero entries only
	Durations map[string]Histogram  // by command; commands seen at least once
	Dropped   map[string]uint64     // every DropReasons entry, zeros included
	CacheHits uint64                // retransmissions answered from the cache
	// CacheEvictions counts early generation swaps forced by the cache's
	// size bound: each may shorten retention below CacheTTL.
	CacheEvictions uint64
	CacheEntries   int    // replies held now
	Refused        uint64 // refused by policy (disabled commands + PolicyError)
	// EventsSuppressed counts Events calls skipped by rate limiting.
	EventsSuppressed uint64
}

// RequestKey labels a request counter.
type RequestKey struct {
	Command string // a Commands() entry
	Result  string // a Results() entry
}

// Histogram is a cumulative histogram in Prometheus' shape.
type Histogram struct {
	Bounds     []float64 // upper bounds in seconds (DurationBuckets)
	Cumulative []uint64  // observations <= Bounds[i]
	Count      uint64    // all observations
	Sum        float64   // seconds
}

var resultIndex = map[string]int{ResultOK: 0, ResultPong: 1, ResultError: 2, ResultLoadLimit: 3, ResultRefused: 4}

var dropIndex = map[string]int{DropNoCookie: 0, DropTooLarge: 1, DropMalformed: 2, DropNotAllowed: 3}

// numCommands counts commandList plus the unknown and invalid pseudo
// commands.
var numCommands = len(commandList) + 2

type cmdStats struct {
	results [5]atomic.Uint64
	buckets []atomic.Uint64 // per bucket, not cumulative; last is +Inf
	count   atomic.Uint64
	sumNano atomic.Uint64
}

// counters are updated with atomics from any goroutine; Stats() reads them
// without stopping anyone.
type counters struct {
	cmds             []cmdStats
	dropped          [4]atomic.Uint64
	cacheHits        atomic.Uint64
	refused          atomic.Uint64
	eventsSuppressed atomic.Uint64
}

func newCounters() *counters {
	c := &counters{cmds: make([]cmdStats, numCommands)}
	for i := range c.cmds {
		c.cmds[i].buckets = make([]atomic.Uint64, len(DurationBuckets)+1)
	}
	return c
}

// cmdSlot is the counter index of a command name from Commands().
func cmdSlot(name string) int {
	switch name {
	case cmdUnknown:
		return len(commandList)
	case cmdInvalid:
		return len(commandList) + 1
	}
	return commandIndex[fold(name)]
}

func cmdName(slot int) string {
	switch {
	case slot < len(commandList):
		return commandList[slot].name
	case slot == len(commandList):
		return cmdUnknown
	}
	return cmdInvalid
}

func (c *counters) request(slot int, result string, d time.Duration) {
	cs := &c.cmds[slot]
	cs.results[resultIndex[result]].Add(1)
	if result == ResultRefused {
		c.refused.Add(1)
	}
	if d < 0 {
		d = 0
	}
	sec := d.Seconds()
	b := len(DurationBuckets)
	for i, ub := range DurationBuckets {
		if sec <= ub {
			b = i
			break
		}
	}
	cs.buckets[b].Add(1)
	cs.count.Add(1)
	cs.sumNano.Add(uint64(d))
}

func (c *counters) drop(reason string) { c.dropped[dropIndex[reason]].Add(1) }

func (c *counters) snapshot() Stats {
	st := Stats{
		Requests:         map[RequestKey]uint64{},
		Durations:        map[string]Histogram{},
		Dropped:          map[string]uint64{},
		CacheHits:        c.cacheHits.Load(),
		Refused:          c.refused.Load(),
		EventsSuppressed: c.eventsSuppressed.Load(),
	}
	results := Results()
	for slot := range c.cmds {
		cs := &c.cmds[slot]
		name := cmdName(slot)
		for i, r := range results {
			if n := cs.results[i].Load(); n != 0 {
				st.Requests[RequestKey{Command: name, Result: r}] = n
			}
		}
		count := cs.count.Load()
		if count == 0 {
			continue
		}
		h := Histogram{Bounds: DurationBuckets, Cumulative: make([]uint64, len(DurationBuckets))}
		var run uint64
		for i := range DurationBuckets {
			run += cs.buckets[i].Load()
			h.Cumulative[i] = run
		}
		// Count is read before the buckets are summed, so under
		// concurrent updates it may trail them; keep the shape valid.
		h.Count = max(count, run+cs.buckets[len(DurationBuckets)].Load())
		h.Sum = time.Duration(cs.sumNano.Load()).Seconds()
		st.Durations[name] = h
	}
	for _, r := range DropReasons() {
		st.Dropped[r] = c.dropped[dropIndex[r]].Load()
	}
	return st
}
