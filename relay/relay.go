// Package relay is srtpgw's call model and packet path: calls, legs and
// streams; the per-packet handle step and the socket loops around it; SDP
// rewriting; DTLS-SRTP setup; timeouts. The control-plane methods on Relay
// (Offer, Answer, Delete, Query, List, Statistics) are what the ng server
// drives.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srtpgw/srtpgw/relay/udp"
)

// Relay anchors calls. All control-plane methods are safe for concurrent
// use; mu guards the call table and every Call, Leg and Media field, never
// anything the packet path reads (that goes through Stream atomics).
// Methods that expect mu held end in Locked.
type Relay struct {
	cfg     Config
	log     *slog.Logger
	events  EventSink
	clock   *coarseClock
	pools   map[string]*udp.Pool // by interface name
	started time.Time

	mu      sync.Mutex
	calls   map[string]*Call
	closing bool // refuse new calls (Drain or Close)
	closed  bool
	// Traffic of ended calls by the leg it arrived on, so totals survive
	// teardown: phone legs and upstream legs.
	endedPhone, endedUpstream Counts

	totalCalls   atomic.Uint64
	rejected     atomic.Uint64
	endReasons   sync.Map // EndReason -> *atomic.Uint64
	durationSum  atomic.Int64
	durationN    atomic.Uint64
	handshakes   HandshakeStats
	auditBlocker atomic.Pointer[func() error]

	wg   sync.WaitGroup // read loops, handshakes, the reaper
	stop chan struct{}
}

// New validates cfg, sets up the port pools and starts the reaper.
func New(cfg Config) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Certs == nil {
		return nil, errors.New("relay: no certificate source")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events == nil {
		cfg.Events = NopSink{}
	}
	if cfg.Network == nil {
		cfg.Network = udp.System{TOS: udp.DSCPExpedited}
	}
	r := &Relay{
		cfg:     cfg,
		log:     cfg.Logger,
		events:  cfg.Events,
		clock:   newCoarseClock(cfg.Now),
		pools:   map[string]*udp.Pool{},
		started: cfg.Now(),
		calls:   map[string]*Call{},
		stop:    make(chan struct{}),
	}
	for _, ifc := range cfg.Interfaces {
		p, err := udp.NewPool(cfg.PortMin, cfg.PortMax, cfg.PortQuarantine, cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", ifc, err)
		}
		r.pools[ifc.Name] = p
	}
	r.wg.Add(1)
	go r.reaper()
	return r, nil
}

// SetAdmission installs a check run before every new call; a non-nil error
// refuses the call with ErrUnavailable. The daemon uses it to refuse calls
// it could not record (audit log unwritable).
func (r *Relay) SetAdmission(check func() error) {
	r.auditBlocker.Store(&check)
}

func (r *Relay) admit() error {
	if p := r.auditBlocker.Load(); p != nil {
		if err := (*p)(); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	return nil
}

// Close stops accepting offers, ends every call with EndShutdown (so each
// gets its final record), and waits for every goroutine.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closing, r.closed = true, true
	var calls []*Call
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	for _, c := range calls {
		r.endCall(c, EndShutdown)
	}
	close(r.stop)
	r.wg.Wait()
	return nil
}

// Drain stops accepting new calls but lets live ones continue.
func (r *Relay) Drain() {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
}

// List returns up to limit call-ids, oldest first.
func (r *Relay) List(limit int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := make([]*Call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].created.Before(calls[j].created) })
	ids := make([]string, 0, min(limit, len(calls)))
	for _, c := range calls {
		if len(ids) >= limit {
			break
		}
		ids = append(ids, c.id)
	}
	return ids
}

// Delete ends a call (after the delete delay, if any) and returns its final
// counters. from-tag may name either party: Kamailio sends the tag of
// whoever sent the BYE (ng-protocol.md b.5).
func (r *Relay) Delete(_ context.Context, req *DeleteRequest) (*CallInfo, error) {
	if req.CallID == "" {
		return nil, ErrNoCallID
	}
	r.mu.Lock()
	c := r.calls[req.CallID]
	if c == nil || (req.FromTag != "" && c.legByTag(req.FromTag) == nil && !c.tagPending(req.FromTag)) ||
		(req.ToTag != "" && c.legByTag(req.ToTag) == nil && !c.tagPending(req.ToTag)) {
		r.mu.Unlock()
		return nil, ErrUnknownCall
	}
	delay := r.cfg.DeleteDelay
	if req.HasDelay {
		delay = req.Delay
	}
	now := r.cfg.Now()
	c.lastSignal = now
	info := c.infoLocked()
	if delay > 0 {
		if c.deleteAt.IsZero() {
			c.deleteAt = now.Add(delay)
		}
		r.mu.Unlock()
		return info, nil
	}
	r.mu.Unlock()
	r.endCall(c, EndDelete)
	return info, nil
}

// tagPending reports whether tag could be the answerer that has not answered
// yet: a CANCEL's delete names a to-tag srtpgw never saw.
func (c *Call) tagPending(tag string) bool {
	return c.legs[1].tag == "" && tag != ""
}

// Query returns a call's current state and counters.
func (r *Relay) Query(_ context.Context, req *QueryRequest) (*CallInfo, error) {
	if req.CallID == "" {
		return nil, ErrNoCallID
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[req.CallID]
	if c == nil {
		return nil, ErrUnknownCall
	}
	return c.infoLocked(), nil
}

// Statistics summarises the relay for ng `statistics`.
func (r *Relay) Statistics() Statistics {
	r.mu.Lock()
	cur := len(r.calls)
	totals := r.endedPhone
	totals.Add(&r.endedUpstream)
	for _, c := range r.calls {
		for s := range c.allStreams() {
			snap := s.stats.snapshot()
			totals.Add(&snap)
		}
	}
	r.mu.Unlock()
	st := Statistics{
		Uptime:           r.cfg.Now().Sub(r.started),
		CurrentSessions:  cur,
		TotalSessions:    r.totalCalls.Load(),
		TimeoutSessions:  r.endCount(EndTimeout) + r.endCount(EndSilentTimeout),
		RejectedSessions: r.rejected.Load(),
		Packets:          totals.InPackets,
		Bytes:            totals.InBytes,
		Errors:           totals.DropTotal(),
	}
	if n := r.durationN.Load(); n > 0 {
		st.AverageCallDuration = time.Duration(r.durationSum.Load() / int64(n))
	}
	for _, p := range r.pools {
		free, _, total := p.Stats()
		st.PortsFree += free * 2
		st.PortsTotal += total * 2
	}
	return st
}

func (r *Relay) endCount(reason EndReason) uint64 {
	if v, ok := r.endReasons.Load(reason); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}

func (r *Relay) countEnd(reason EndReason) {
	v, _ := r.endReasons.LoadOrStore(reason, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}
