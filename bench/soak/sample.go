package main

import (
	"fmt"
	"time"

	"github.com/srtpgw/srtpgw/bench/load"
)

// Sample is one observation of the daemon and the soak.
type Sample struct {
	Phase            string        `json:"phase"` // baseline, churn, ended, settle, final
	At               time.Duration `json:"at_ns"` // since the daemon was ready
	CallsActive      float64       `json:"calls_active"`
	Live             int64         `json:"live"`        // calls the tool holds
	CallsEnded       uint64        `json:"calls_ended"` // by the tool, so far
	Goroutines       float64       `json:"goroutines"`
	FDs              int           `json:"fds"`
	RSS              int64         `json:"rss_bytes"`
	HeapInuse        float64       `json:"heap_inuse_bytes"`
	HeapAlloc        float64       `json:"heap_alloc_bytes"` // live objects (after the last GC) plus garbage since
	CPUPct           float64       `json:"cpu_pct"`          // daemon CPU since the previous sample, % of one core
	SoakCPUPct       float64       `json:"soak_cpu_pct"`     // this tool\'s own CPU
	OtherCPUPct      float64       `json:"other_cpu_pct"`    // the rest of the machine (other processes, steal)
	Relayed          float64       `json:"relayed"`          // srtpgw_packets_total
	Lost             uint64        `json:"lost"`
	CacheEntries     float64       `json:"ng_cache_entries"`
	PortsQuarantined float64       `json:"ports_quarantined"`
	GCs              float64       `json:"gcs"`
	PacerLag         time.Duration `json:"pacer_lag_ns"`
	m                Metrics
}

// sampler observes the daemon: /metrics for what the daemon counts,
// /proc for what the kernel sees (fds, RSS, CPU).
type sampler struct {
	d       *Daemon
	s       *scraper
	r       *runner
	start   time.Time
	lastCPU time.Duration
	lastAt  time.Time
	// the tool's own and the whole machine's busy CPU at the last sample
	lastSelf, lastHost time.Duration
}

func newSampler(d *Daemon, r *runner) *sampler {
	cpu, _ := load.ProcCPU(d.PID())
	self, _ := load.ProcCPU(0)
	host, _, _ := load.HostCPU()
	now := time.Now()
	return &sampler{d: d, s: newScraper(d.HTTP), r: r, start: now, lastCPU: cpu, lastAt: now, lastSelf: self, lastHost: host}
}

func (s *sampler) take(phase string) (Sample, error) {
	m, err := s.s.scrape()
	if err != nil {
		return Sample{}, err
	}
	fds, err := countFDs(s.d.PID())
	if err != nil {
		return Sample{}, err
	}
	rss, err := load.ProcRSS(s.d.PID())
	if err != nil {
		return Sample{}, err
	}
	cpu, err := load.ProcCPU(s.d.PID())
	if err != nil {
		return Sample{}, err
	}
	self, _ := load.ProcCPU(0)
	host, _, _ := load.HostCPU()
	now := time.Now()
	smp := Sample{
		Phase: phase, At: now.Sub(s.start), m: m,
		CallsActive:      m["srtpgw_calls_active"],
		Goroutines:       m["go_goroutines"],
		FDs:              fds,
		RSS:              rss,
		HeapInuse:        m["go_memstats_heap_inuse_bytes"],
		HeapAlloc:        m["go_memstats_heap_alloc_bytes"],
		Relayed:          m.Sum("srtpgw_packets_total"),
		CacheEntries:     m["srtpgw_ng_cache_entries"],
		PortsQuarantined: m["srtpgw_ports_quarantined"],
		GCs:              m["go_gc_duration_seconds_count"],
	}
	if el := now.Sub(s.lastAt).Seconds(); el > 0 {
		d, me := cpu-s.lastCPU, self-s.lastSelf
		smp.CPUPct = 100 * d.Seconds() / el
		smp.SoakCPUPct = 100 * me.Seconds() / el
		smp.OtherCPUPct = max(0, 100*(host-s.lastHost-d-me).Seconds()/el)
	}
	s.lastCPU, s.lastAt, s.lastSelf, s.lastHost = cpu, now, self, host
	if s.r != nil {
		t := &s.r.tot
		smp.Live = t.Live.Load()
		smp.CallsEnded = t.CallsEnded.Load()
		smp.Lost = t.LostUp.Load() + t.LostDown.Load()
		smp.PacerLag = s.r.pacerLag()
	}
	for _, k := range []string{"srtpgw_calls_active", "go_goroutines", "go_memstats_heap_inuse_bytes"} {
		if _, ok := m[k]; !ok {
			return smp, fmt.Errorf("series %s missing from /metrics", k)
		}
	}
	return smp, nil
}
