package load

import "sync/atomic"

// iceCounters count the ICE checks of -ice. A check is one binding
// transaction (its retransmissions are counted apart); like media, it is
// credited to the epoch it was sent in, answer included, so a window's
// checks and answers match exactly while checks never stop.
type iceCounters struct {
	sent, answered atomic.Uint64
	retransmits    atomic.Uint64
	errorResponses atomic.Uint64
	duplicates     atomic.Uint64 // answers to retransmissions of an answered check
	invalid        atomic.Uint64 // failed verification, wrong source, no such transaction
	relayChecks    atomic.Uint64 // binding requests from the relay: it is a full agent
	sendErrors     atomic.Uint64
	ep             [epochSlots]struct{ sent, answered atomic.Uint64 }
}

func (c *iceCounters) count(e uint32) {
	c.sent.Add(1)
	c.ep[e%epochSlots].sent.Add(1)
}

func (c *iceCounters) answer(e uint32) {
	c.answered.Add(1)
	c.ep[e%epochSlots].answered.Add(1)
}

func (c *iceCounters) reset(e uint32) {
	c.ep[e%epochSlots].sent.Store(0)
	c.ep[e%epochSlots].answered.Store(0)
}

// ICEWindow is one step's ICE checks (consent, RFC 7675) with -ice.
type ICEWindow struct {
	Sent     uint64 `json:"checks_sent"`
	Answered uint64 `json:"checks_answered"`
}

// ICECounters are the whole run's ICE checks with -ice: the nominating
// check of every call setup and the consent checks.
type ICECounters struct {
	Sent           uint64 `json:"checks_sent"` // transactions, not datagrams
	Answered       uint64 `json:"checks_answered"`
	Retransmits    uint64 `json:"retransmits"`
	ErrorResponses uint64 `json:"error_responses"`
	Duplicates     uint64 `json:"duplicate_answers"`
	Invalid        uint64 `json:"invalid"`
	RelayChecks    uint64 `json:"relay_checks"` // never answered: see bench/README.md
	SendErrors     uint64 `json:"send_errors"`
}

// ICEWindow reads epoch e's checks.
func (s *Stats) ICEWindow(e uint32) ICEWindow {
	c := &s.ice.ep[e%epochSlots]
	return ICEWindow{Sent: c.sent.Load(), Answered: c.answered.Load()}
}

// ICETotals reads the run-wide ICE counters.
func (s *Stats) ICETotals() ICECounters {
	c := &s.ice
	return ICECounters{Sent: c.sent.Load(), Answered: c.answered.Load(), Retransmits: c.retransmits.Load(),
		ErrorResponses: c.errorResponses.Load(), Duplicates: c.duplicates.Load(), Invalid: c.invalid.Load(),
		RelayChecks: c.relayChecks.Load(), SendErrors: c.sendErrors.Load()}
}
