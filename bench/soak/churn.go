package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srtpgw/srtpgw/bench/load"
)

// Config is one soak run.
type Config struct {
	Calls            int           // concurrent calls kept up
	Duration         time.Duration // churn time
	MinLife, MaxLife time.Duration // each call lives a uniform random time in [MinLife, MaxLife]
	Sample           time.Duration // sampling interval
	SetupConcurrency int           // calls being set up at once
	SetupTimeout     time.Duration // offer to keys, per call; also per delete
	Drain            time.Duration // wait for in-flight packets of an ended call
	Pacers           int           // pacing goroutines
	Slots            int           // pacer ticks per 20 ms
	PhoneAddr        netip.Addr
	UpstreamAddr     netip.Addr
	// SettleCache waits out the ng reply cache (2 x 60 s, then a ping
	// expires it) before the final sample, so the heap is compared with
	// nothing retained by design. Without it, the cache's entries are
	// allowed for in the heap margin instead.
	SettleCache bool
	Margins     Margins
}

// Margins are how far above the baseline the final sample may be.
type Margins struct {
	Goroutines int
	FDs        int
	HeapBytes  float64
	// CacheEntryBytes is allowed per reply still in the ng cache.
	CacheEntryBytes float64
}

// DefaultConfig is the 10-minute soak of the hardening brief.
func DefaultConfig() Config {
	return Config{
		Calls: 300, Duration: 10 * time.Minute, MinLife: 5 * time.Second, MaxLife: 30 * time.Second,
		Sample: 10 * time.Second, SetupConcurrency: 8, SetupTimeout: 15 * time.Second,
		Drain: 2 * time.Second, Pacers: 2, Slots: 50,
		PhoneAddr: netip.MustParseAddr("127.0.1.1"), UpstreamAddr: netip.MustParseAddr("127.0.2.1"),
		SettleCache: true,
		Margins:     Margins{Goroutines: 5, FDs: 5, HeapBytes: 4 << 20, CacheEntryBytes: 4096},
	}
}

// Validate refuses a run that could not mean anything.
func (c *Config) Validate() error {
	var errs []error
	if c.Calls < 1 || c.Duration <= 0 || c.Sample <= 0 {
		errs = append(errs, errors.New("calls, duration and sample must be positive"))
	}
	if c.MinLife <= 0 || c.MaxLife < c.MinLife {
		errs = append(errs, fmt.Errorf("call life %v..%v: want 0 < min <= max", c.MinLife, c.MaxLife))
	}
	if c.SetupConcurrency < 1 || c.Pacers < 1 || c.Slots < 1 {
		errs = append(errs, errors.New("setup concurrency, pacers and slots must be >= 1"))
	}
	if !c.PhoneAddr.IsLoopback() || !c.UpstreamAddr.IsLoopback() {
		errs = append(errs, errors.New("the soak runs on loopback only: phone and upstream addresses must be in 127.0.0.0/8"))
	}
	return errors.Join(errs...)
}

// Totals are the soak tool's own counts.
type Totals struct {
	CallsSetUp, CallsEnded       atomic.Uint64
	SetupFailed, DeleteFailed    atomic.Uint64
	SentUp, SentDown             atomic.Uint64 // packets of ended calls
	LostUp, LostDown             atomic.Uint64
	Bad, Early, SendErrors       atomic.Uint64
	CallsWithLoss                atomic.Uint64
	Live                         atomic.Int64
	mu                           sync.Mutex
	FirstSetupErr, FirstLossCall string
}

func (t *Totals) setupErr(err error) {
	t.SetupFailed.Add(1)
	t.mu.Lock()
	if t.FirstSetupErr == "" {
		t.FirstSetupErr = err.Error()
	}
	t.mu.Unlock()
}

// runner holds one soak's state.
type runner struct {
	cfg    Config
	runID  uint32
	ng     *load.NGClient
	tls    *upstreamTLS
	pacers []*Pacer
	setups chan struct{} // setup concurrency
	tot    Totals
	next   atomic.Int64 // call index; never reused, so call-ids never collide
	lastNG atomic.Int64 // unix nanos of the last ng command sent
}

func newRunner(cfg Config, ngAddr string) (*runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tls, err := newUpstreamTLS()
	if err != nil {
		return nil, err
	}
	ng, err := load.DialNG(ngAddr)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, runID: rand.Uint32() % 1e6, ng: ng, tls: tls, setups: make(chan struct{}, cfg.SetupConcurrency)}
	for range cfg.Pacers {
		r.pacers = append(r.pacers, NewPacer(load.Period, cfg.Slots))
	}
	return r, nil
}

// churn keeps cfg.Calls calls up until ctx ends: each call lives a random
// time, then is ended (media stopped, loss counted, deleted) and replaced.
// When ctx ends every live call is ended the same way, and churn returns
// once all are gone.
func (r *runner) churn(ctx context.Context) {
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	for _, p := range r.pacers {
		pwg.Go(func() { p.Run(stop) })
	}
	var wg sync.WaitGroup
	for range r.cfg.Calls {
		wg.Go(func() { r.slot(ctx) })
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
}

// slot is one of the cfg.Calls call positions.
func (r *runner) slot(ctx context.Context) {
	first := true
	for ctx.Err() == nil {
		r.setups <- struct{}{}
		idx := int(r.next.Add(1))
		c, err := r.setupCall(ctx, idx)
		r.touchNG()
		<-r.setups
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.tot.setupErr(err)
			time.Sleep(time.Second)
			continue
		}
		r.tot.CallsSetUp.Add(1)
		r.tot.Live.Add(1)
		life := r.cfg.MinLife + rand.N(r.cfg.MaxLife-r.cfg.MinLife+1)
		if first {
			// The first generation would otherwise end together; spread
			// it over the whole life range.
			life = rand.N(r.cfg.MaxLife) + time.Second
			first = false
		}
		select {
		case <-ctx.Done():
		case <-time.After(life):
		}
		err = r.endCall(c)
		r.touchNG()
		r.tot.Live.Add(-1)
		r.account(c, err)
	}
}

func (r *runner) touchNG() { r.lastNG.Store(time.Now().UnixNano()) }

// account adds an ended call to the totals.
func (r *runner) account(c *call, deleteErr error) {
	t := &r.tot
	t.CallsEnded.Add(1)
	if deleteErr != nil {
		t.DeleteFailed.Add(1)
	}
	t.SentUp.Add(c.sentUp)
	t.SentDown.Add(c.sentDown)
	t.LostUp.Add(c.lostUp)
	t.LostDown.Add(c.lostDown)
	t.Bad.Add(c.phone.bad.Load() + c.up.bad.Load())
	t.Early.Add(c.up.early.Load())
	t.SendErrors.Add(c.phoneFlow.errs.Load() + c.upFlow.errs.Load())
	if c.lostUp+c.lostDown > 0 {
		t.CallsWithLoss.Add(1)
		t.mu.Lock()
		if t.FirstLossCall == "" {
			t.FirstLossCall = fmt.Sprintf("%s: lost %d of %d up, %d of %d down after %v",
				c.id, c.lostUp, c.sentUp, c.lostDown, c.sentDown, time.Since(c.started).Round(time.Millisecond))
		}
		t.mu.Unlock()
	}
}

// pacerLag is the worst pacer lateness since the last call.
func (r *runner) pacerLag() time.Duration {
	var l time.Duration
	for _, p := range r.pacers {
		l = max(l, p.MaxLag())
	}
	return l
}
