package relay

import (
	"fmt"
	"time"
)

// securityInterval is the least time between two security records of one
// kind for one call: a flood of forged packets yields one record a minute
// with the count, not one per packet (issue: hardening).
const securityInterval = time.Minute

// Security event kinds.
const (
	SecurityRogueSource = "rogue_source_burst"
	SecurityAuthFailure = "auth_failure_burst"
	SecurityReplay      = "replay_burst"
)

var securityKinds = [...]struct {
	kind   string
	reason DropReason
}{
	{SecurityRogueSource, DropRogueSource},
	{SecurityAuthFailure, DropAuth},
	{SecurityReplay, DropReplay},
}

// securityState remembers, per kind, the drop count already reported and
// when, so bursts are reported once per interval.
type securityState struct {
	reported [len(securityKinds)]uint64
	at       [len(securityKinds)]time.Time
}

type securityAlert struct {
	kind   string
	rec    CallRecord
	detail string
	count  uint64
}

// securityAlertsLocked compares the call's drop counters with what was
// already reported and returns the new bursts that are due.
func (c *Call) securityAlertsLocked(now time.Time) []securityAlert {
	var total [len(securityKinds)]uint64
	for s := range c.allStreams() {
		for i, k := range securityKinds {
			total[i] += s.stats.drops[k.reason].Load()
		}
	}
	var out []securityAlert
	for i, k := range securityKinds {
		delta := total[i] - c.sec.reported[i]
		if delta == 0 || now.Sub(c.sec.at[i]) < securityInterval {
			continue
		}
		c.sec.reported[i], c.sec.at[i] = total[i], now
		out = append(out, securityAlert{
			kind:   k.kind,
			rec:    c.recordLocked(),
			detail: fmt.Sprintf("%d packets dropped as %s", delta, k.reason),
			count:  delta,
		})
	}
	return out
}
