package ng

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

// fakeEngine records what the server asks of it and answers with canned
// values. Setting gate makes Offer block until the gate is closed (a slow
// engine), and signals started when an Offer begins.
type fakeEngine struct {
	mu      sync.Mutex
	offers  []*relay.Request
	answers []*relay.Request
	deletes []*relay.DeleteRequest
	queries []*relay.QueryRequest
	limits  []int

	offerSDP, answerSDP []byte
	offerErr, answerErr error
	deleteInfo          *relay.CallInfo
	deleteErr           error
	queryInfo           *relay.CallInfo
	queryErr            error
	calls               []string
	stats               relay.Statistics
	gate                chan struct{}
	started             chan struct{}
	panicOffer          bool
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{offerSDP: []byte("v=0\r\no=offer\r\n"), answerSDP: []byte("v=0\r\no=answer\r\n")}
}

func (e *fakeEngine) Offer(ctx context.Context, req *relay.Request) ([]byte, error) {
	e.mu.Lock()
	e.offers = append(e.offers, req)
	gate, started, panicking := e.gate, e.started, e.panicOffer
	e.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	if panicking {
		panic("engine bug holding inline:SECRET")
	}
	return e.offerSDP, e.offerErr
}

func (e *fakeEngine) Answer(ctx context.Context, req *relay.Request) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.answers = append(e.answers, req)
	return e.answerSDP, e.answerErr
}

func (e *fakeEngine) Delete(ctx context.Context, req *relay.DeleteRequest) (*relay.CallInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deletes = append(e.deletes, req)
	return e.deleteInfo, e.deleteErr
}

func (e *fakeEngine) Query(ctx context.Context, req *relay.QueryRequest) (*relay.CallInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queries = append(e.queries, req)
	return e.queryInfo, e.queryErr
}

func (e *fakeEngine) List(limit int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limits = append(e.limits, limit)
	return e.calls
}

func (e *fakeEngine) Statistics() relay.Statistics { return e.stats }

func (e *fakeEngine) offerCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.offers)
}

// fakeEvents records Events calls.
type fakeEvents struct {
	mu       sync.Mutex
	rejected []netip.AddrPort
	refused  []string // "command|callID|reason"
}

func (f *fakeEvents) ClientRejected(from netip.AddrPort, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected = append(f.rejected, from)
}

func (f *fakeEvents) CommandRefused(from netip.AddrPort, command, callID, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused = append(f.refused, command+"|"+callID+"|"+reason)
}

func (f *fakeEvents) counts() (rejected, refused int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rejected), len(f.refused)
}

// fakeClock is a settable clock for the cache and the rate limiters.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	loopClient = netip.MustParseAddrPort("127.0.0.1:5060")
	otherPort  = netip.MustParseAddrPort("127.0.0.1:5061")
)

// roundTrip sends one message from loopClient and returns the reply text.
func roundTrip(t *testing.T, s *Server, msg string) string {
	t.Helper()
	return string(s.Handle(context.Background(), []byte(msg), loopClient))
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// payloadOf strips the cookie from a wire message.
func payloadOf(msg []byte) []byte { return msg[bytes.IndexByte(msg, ' ')+1:] }
