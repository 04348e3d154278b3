package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// srtpgw allocates nothing per packet; its garbage comes in bursts when
// calls are set up (a DTLS handshake allocates around 100 KiB in pion). The
// Go collector only runs when the heap grows, so after a burst the garbage
// (and the RSS it holds) would stay until the next burst. Every
// memoryCheck, if more than memoryBurst was allocated since the last
// collection, the daemon runs a collection and returns the freed pages to
// the OS at once (debug.FreeOSMemory), so RSS follows the live calls
// (issue: capacity, memory per call). The runtime's background scavenger
// alone kept ~5 MB of freed heap resident at 400 calls: it retains about
// 10% over the heap goal and paces itself, and with no steady-state
// allocation nothing else prompts it.
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
			// Marking is concurrent; only this goroutine waits for
			// the collection and the scavenge.
			debug.FreeOSMemory()
			last = now
		}
	}
}
