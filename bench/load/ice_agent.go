package load

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v4"
)

// checkRTO is the retransmission interval of the setup check. RFC 8489
// §6.2.1 would double a 500 ms RTO; on loopback toward a relay under
// load, a fixed 100 ms resend until the setup timeout measures the relay
// rather than the backoff.
const checkRTO = 100 * time.Millisecond

// iceAgent is one simulated upstream's ICE state: one component (-ice
// requires rtcp-mux, as WebRTC does), one candidate pair: its media socket
// and the relay's host candidate. Checks go from the media socket, so the
// relay sees the address DTLS and SRTP will come from (RFC 8445 §7.2.5.2.1
// would fail a non-symmetric pair).
type iceAgent struct {
	st        *Stats
	w         PacketWriter // the upstream's media socket
	relay     netip.AddrPort
	req       checkRequest
	integrity stun.MessageIntegrity

	rx stun.Message // the endpoint's read loop owns it

	mu      sync.Mutex
	setup   iceTx // the nominating check, retransmitted until answered
	consent iceTx // the latest consent check; an unanswered one is replaced
}

// iceTx is one outstanding binding transaction (RFC 8489 §6.2).
type iceTx struct {
	id    [stun.TransactionIDSize]byte
	epoch uint32 // credited with the answer, like media (stats.go)
	live  bool
	done  chan int // setup only: 0 on success, else the STUN error code
}

func newICEAgent(st *Stats, w PacketWriter, local iceCreds, relay ICEParams) *iceAgent {
	var tb [8]byte
	rand.Read(tb[:])
	return &iceAgent{st: st, w: w, relay: relay.Candidate,
		req: checkRequest{username: relay.Ufrag + ":" + local.ufrag,
			tieBreaker: binary.BigEndian.Uint64(tb[:]), priority: checkPriority},
		integrity: stun.NewShortTermIntegrity(relay.Pwd)}
}

// checkICEOffer says why the relay's offer cannot be used by -ice.
func checkICEOffer(m Media) error {
	switch {
	case m.ICE.Ufrag == "" || m.ICE.Pwd == "":
		return errors.New("ice: the relay's offer has no a=ice-ufrag/a=ice-pwd (did it accept ICE=force?)")
	case !m.ICE.Candidate.IsValid():
		return errors.New("ice: the relay's offer has no UDP candidate for component 1")
	case !m.Mux:
		return errors.New("ice: the relay's offer lacks a=rtcp-mux")
	case !m.ICE.Lite:
		// A full agent waits for its own checks to succeed before it
		// sends media (RFC 8445 §8.1.1); this agent never answers them.
		return errors.New("ice: the relay is a full ICE agent (no a=ice-lite); -ice simulates peers of an ICE-lite relay such as srtpgw")
	}
	return nil
}

// connect validates and nominates the pair with one check carrying
// USE-CANDIDATE, resent every checkRTO until a verified success response
// or ctx ends. The relay is lite, so this pair is the only one and its
// first valid check may nominate it (RFC 8445 §7.3.1.5, §8.1.1); DTLS then
// runs on it (RFC 8842 §4).
func (a *iceAgent) connect(ctx context.Context) error {
	tx := stun.NewTransactionID()
	done := make(chan int, 1)
	e := a.st.Epoch()
	var m stun.Message
	if err := buildCheck(&m, tx, a.req, true, a.integrity); err != nil {
		return err
	}
	a.mu.Lock()
	a.setup = iceTx{id: tx, epoch: e, live: true, done: done}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.setup.live = false
		a.mu.Unlock()
	}()
	a.st.ice.count(e)
	tick := time.NewTicker(checkRTO)
	defer tick.Stop()
	for n := 1; ; n++ {
		if _, err := a.w.WriteToUDPAddrPort(m.Raw, a.relay); err != nil {
			a.st.ice.sendErrors.Add(1)
		}
		select {
		case code := <-done:
			if code != 0 {
				return fmt.Errorf("ice: binding error response %d from %s", code, a.relay)
			}
			return nil
		case <-tick.C:
			a.st.ice.retransmits.Add(1)
		case <-ctx.Done():
			return fmt.Errorf("ice: no success response from %s to %d binding requests: %w", a.relay, n, ctx.Err())
		}
	}
}

// consentCheck sends one consent freshness check on the nominated pair
// (RFC 7675 §5.1: a binding request like a connectivity check, without
// USE-CANDIDATE). m is the caller's scratch message.
func (a *iceAgent) consentCheck(m *stun.Message) {
	tx := stun.NewTransactionID()
	if err := buildCheck(m, tx, a.req, false, a.integrity); err != nil {
		a.st.ice.sendErrors.Add(1)
		return
	}
	e := a.st.Epoch()
	a.mu.Lock()
	a.consent = iceTx{id: tx, epoch: e, live: true}
	a.mu.Unlock()
	if _, err := a.w.WriteToUDPAddrPort(m.Raw, a.relay); err != nil {
		a.st.ice.sendErrors.Add(1)
		return
	}
	a.st.ice.count(e)
}

// receive handles a STUN datagram (first byte 0-3, RFC 7983) from the
// endpoint's read loop: a verified response to an outstanding check is an
// answer, handed to a waiting setup; everything else is counted.
func (a *iceAgent) receive(b []byte, from netip.AddrPort) {
	kind, code, err := parseSTUN(&a.rx, b, a.integrity)
	switch {
	case kind == stunRequest:
		a.st.ice.relayChecks.Add(1) // a full agent's check: never answered
		return
	case err != nil || from != a.relay:
		a.st.ice.invalid.Add(1)
		return
	}
	id := a.rx.TransactionID
	a.mu.Lock()
	var tx *iceTx
	switch {
	case a.setup.id == id:
		tx = &a.setup
	case a.consent.id == id:
		tx = &a.consent
	}
	if tx == nil || !tx.live {
		a.mu.Unlock()
		if tx != nil {
			a.st.ice.duplicates.Add(1) // the answer to a retransmission
		} else {
			a.st.ice.invalid.Add(1)
		}
		return
	}
	tx.live = false
	epoch, done := tx.epoch, tx.done
	a.mu.Unlock()
	if kind == stunFailure {
		a.st.ice.errorResponses.Add(1)
	} else {
		a.st.ice.answer(epoch)
	}
	if done != nil {
		done <- code // buffered, and live is now false: sent once
	}
}

// consentScheduler keeps the relay's consent fresh for every call (RFC
// 7675: a relay stops sending 30 s after the last valid check). Each agent
// sends a check every interval, randomised over 0.8-1.2 × (RFC 7675 §5.1),
// so calls set up together drift apart instead of checking in bursts.
type consentScheduler struct {
	interval time.Duration
	mu       sync.Mutex
	agents   []consentEntry
}

type consentEntry struct {
	a    *iceAgent
	next int64 // mono() time of the next check
}

// consentTick is how often the scheduler looks for due checks: a check is
// at most this late, small against the 0.8-1.2 spread.
const consentTick = 20 * time.Millisecond

func (c *consentScheduler) jitter() int64 {
	return int64(float64(c.interval) * (0.8 + 0.4*mrand.Float64()))
}

// add schedules a's first check uniformly within one interval: calls
// arrive a step at a time (hundreds at once), and their checks should
// spread over the interval from the start, not arrive together.
func (c *consentScheduler) add(a *iceAgent) {
	first := int64(mrand.Float64() * float64(c.interval))
	c.mu.Lock()
	c.agents = append(c.agents, consentEntry{a: a, next: mono() + first})
	c.mu.Unlock()
}

// run sends due checks until stop is closed (before any call's socket
// closes: the runner waits for it).
func (c *consentScheduler) run(stop <-chan struct{}) {
	tick := time.NewTicker(consentTick)
	defer tick.Stop()
	var m stun.Message
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := mono()
		c.mu.Lock()
		for i := range c.agents {
			if e := &c.agents[i]; e.next <= now {
				e.a.consentCheck(&m)
				e.next = now + c.jitter()
			}
		}
		c.mu.Unlock()
	}
}
