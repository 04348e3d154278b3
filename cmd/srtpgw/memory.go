package main

import (
	"context"
	"runtime"
	"runtime/metrics"
	"time"
)

// srtpgw allocates nothing per packet; its garbage comes in bursts when
// calls are set up (a DTLS handshake allocates around 100 KiB in pion). The
// Go collector only runs when the heap grows, so after a burst the garbage
// (and the RSS it holds) would stay until the next burst. Every
// memoryCheck, if more than memoryBurst was allocated since the last
// collection, the daemon runs a (concurrent) collection; the runtime's
// background scavenger then returns the freed pages to the OS, so RSS
// follows the live calls (issue: capacity, memory per call).
const (
	memoryCheck = 10 * time.Second
	memoryBurst = 8 << 20
)

// defaultGCPercent keeps the heap goal at 1.5x the live heap instead of
// Go's 2x; with no steady-state allocation it costs almost no CPU. An
// explicit GOGC in the environment wins.
const defaultGCPercent = 50

func memoryHousekeeping(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	last := sample[0].Value.Uint64()
	t := time.NewTicker(memoryCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if now := sample[0].Value.Uint64(); now-last > memoryBurst {
			runtime.GC() // concurrent; the background scavenger then returns the pages
			last = now
		}
	}
}
