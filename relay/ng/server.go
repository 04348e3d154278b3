package ng

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

// Engine is what the server drives; *relay.Relay implements it.
type Engine interface {
	Offer(ctx context.Context, req *relay.Request) (sdp []byte, err error)
	Answer(ctx context.Context, req *relay.Request) (sdp []byte, err error)
	Delete(ctx context.Context, req *relay.DeleteRequest) (*relay.CallInfo, error)
	Query(ctx context.Context, req *relay.QueryRequest) (*relay.CallInfo, error)
	List(limit int) []string
	Statistics() relay.Statistics
}

// Events receives control-plane refusals for the audit log. Calls are
// rate-limited (a flood yields a bounded number) and made synchronously
// from request goroutines, so an implementation must not block for long.
type Events interface {
	// ClientRejected: a datagram or connection from outside Config.Allow.
	ClientRejected(from netip.AddrPort, reason string)
	// CommandRefused: a command disabled by policy, or a relay.PolicyError.
	CommandRefused(from netip.AddrPort, command, callID, reason string)
}

// Config configures a Server. The zero value is usable.
type Config struct {
	// Allow lists the client networks. ng has no authentication (DESIGN
	// §5), so the default (empty) is loopback only: 127.0.0.0/8 and ::1.
	Allow []netip.Prefix
	// MaxMessage bounds a request; larger ones are dropped and counted.
	// Default 65507, the largest UDP payload over IPv4.
	MaxMessage int
	// CacheTTL is how long replies are kept for retransmissions; default
	// and minimum 60 s (Kamailio retries for about 5 s per node, and
	// rtpengine keeps 30-60 s).
	CacheTTL time.Duration
	// CacheMax bounds the number of cached replies; default 32768.
	CacheMax int
	Logger   *slog.Logger
	Events   Events // may be nil
	Now      func() time.Time
}

// Limits of the server that are not worth a knob.
const (
	defaultMaxMessage = 65507
	minCacheTTL       = 60 * time.Second
	defaultCacheMax   = 32768
	cacheMaxBytes     = 64 << 20
	maxCookie         = 255 // Kamailio's is "<id>_<pid>_<seq>", ~20 bytes
)

// Server speaks rtpengine's ng protocol to a SIP proxy. Handle is safe for
// concurrent use; ServeUDP and ServeTCP call it from many goroutines.
type Server struct {
	engine  Engine
	cfg     Config
	log     *slog.Logger
	events  Events
	now     func() time.Time
	allow   []netip.Prefix
	cache   *replyCache
	stats   *counters
	rejects *sourceLimiter // ClientRejected events and their log lines
	refuses *limiter       // CommandRefused events
	drops   *limiter       // log lines for dropped datagrams
	warns   *limiter       // log lines for refusals, errors, send failures
}

// NewServer returns a server driving e.
func NewServer(e Engine, cfg Config) *Server {
	if len(cfg.Allow) == 0 {
		cfg.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = defaultMaxMessage
	}
	cfg.CacheTTL = max(cfg.CacheTTL, minCacheTTL)
	if cfg.CacheMax <= 0 {
		cfg.CacheMax = defaultCacheMax
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// Addresses are compared unmapped and without zone, so an IPv4
	// prefix matches a client seen on a dual-stack socket as ::ffff:a.b.c.d.
	allow := make([]netip.Prefix, 0, len(cfg.Allow))
	for _, p := range cfg.Allow {
		a := p.Addr().WithZone("")
		if a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		} else {
			p = netip.PrefixFrom(a, p.Bits())
		}
		if p.IsValid() {
			allow = append(allow, p.Masked())
		}
	}
	return &Server{
		engine:  e,
		cfg:     cfg,
		log:     cfg.Logger,
		events:  cfg.Events,
		now:     cfg.Now,
		allow:   allow,
		cache:   newReplyCache(cfg.Now, cfg.CacheTTL, cfg.CacheMax, cacheMaxBytes),
		stats:   newCounters(),
		rejects: newSourceLimiter(cfg.Now, time.Minute, 4096, newLimiter(cfg.Now, time.Second, 20)),
		refuses: newLimiter(cfg.Now, 100*time.Millisecond, 100),
		drops:   newLimiter(cfg.Now, time.Second, 10),
		warns:   newLimiter(cfg.Now, time.Second, 10),
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	st.CacheEntries, st.CacheEvictions = s.cache.stats()
	return st
}

// allowed reports whether a client address is in Config.Allow.
func (s *Server) allowed(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range s.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// reject counts and reports a client outside the allowlist.
func (s *Server) reject(from netip.AddrPort) {
	s.stats.drop(DropNotAllowed)
	if !s.rejects.allow(from.Addr()) {
		s.stats.eventsSuppressed.Add(1)
		return
	}
	s.log.Warn("ng: client not in allowlist, dropped", "client", from)
	if s.events != nil {
		s.events.ClientRejected(from, "source address not in the ng allowlist")
	}
}

// dropped counts a datagram dropped for reason and logs it rate-limited.
func (s *Server) dropped(from netip.AddrPort, reason string) {
	s.stats.drop(reason)
	if ok, n := s.drops.allow(); ok {
		s.log.Warn("ng: datagram dropped", "client", from, "reason", reason, "suppressed", n)
	}
}

// Handle processes one datagram from `from` and returns the reply bytes,
// or nil when there must be no reply (client not allowed, no cookie, too
// large). A retransmission of a request seen within CacheTTL gets the
// first reply's bytes; one that arrives while the first is still being
// processed waits for it, or returns nil if ctx ends first. Handle does
// not keep msg. The reply may be shared with other callers (it is the
// cached copy) and must not be modified.
func (s *Server) Handle(ctx context.Context, msg []byte, from netip.AddrPort) []byte {
	if !s.allowed(from.Addr()) {
		s.reject(from)
		return nil
	}
	if len(msg) > s.cfg.MaxMessage {
		s.dropped(from, DropTooLarge)
		return nil
	}
	// rtpengine splits at the first space; none, or one at position 0,
	// is dropped without a reply (control_ng_process).
	sp := bytes.IndexByte(msg, ' ')
	if sp <= 0 {
		s.dropped(from, DropNoCookie)
		return nil
	}
	if sp > maxCookie {
		s.dropped(from, DropMalformed)
		return nil
	}
	cookie, payload := msg[:sp], msg[sp+1:]
	key := cacheKey{from: from, cookie: string(cookie)}
	e, dup := s.cache.begin(key)
	if dup {
		s.stats.cacheHits.Add(1)
		select {
		case <-e.done:
			s.log.Debug("ng: duplicate answered from cache", "client", from)
			return e.reply
		case <-ctx.Done():
			return nil
		}
	}
	reply := s.process(ctx, cookie, payload, from)
	s.cache.finish(key, e, reply)
	return reply
}

// process builds the reply to one new request: decode, dispatch, encode.
// It always returns a reply, an error reply if the engine panics, so that
// waiting duplicates are released.
func (s *Server) process(ctx context.Context, cookie, payload []byte, from netip.AddrPort) (reply []byte) {
	start := time.Now()
	// As in rtpengine (control_ng_process_payload), the first byte tells
	// bencode ('d') from JSON ('{'); anything else is refused unparsed.
	isJSON := len(payload) > 0 && payload[0] == '{'
	enc := Encode
	if isJSON {
		enc = EncodeJSON
	}
	slot, callID := cmdSlot(cmdInvalid), ""
	var out outcome
	defer func() {
		if r := recover(); r != nil {
			// The panic value is not logged: it could hold request
			// content. The stack has the location.
			s.log.Error("ng: panic while handling a command", "command", cmdName(slot), "call-id", callID, "stack", string(debug.Stack()))
			out = outcome{reply: errorReply(reasonInternal), result: ResultError}
		}
		reply = frame(cookie, enc(out.reply))
		s.stats.request(slot, out.result, time.Since(start))
		s.logResult(from, cmdName(slot), callID, out, reply)
	}()

	var dict Value
	var err error
	switch {
	case len(payload) == 0:
		out = outcome{reply: errorReply(reasonNoPayload), result: ResultError}
		return
	case isJSON:
		dict, err = DecodeJSON(payload)
	case payload[0] == 'd':
		dict, err = Decode(payload)
	default:
		out = outcome{reply: errorReply(reasonBadFormat), result: ResultError}
		return
	}
	if err != nil {
		s.log.Debug("ng: undecodable payload", "client", from, "error", err)
		out = outcome{reply: errorReply(decodeFailure(isJSON, err)), result: ResultError}
		return
	}
	name, ok := dict.Get("command").Str()
	if !ok {
		out = outcome{reply: errorReply(reasonNoCommand), result: ResultError}
		return
	}
	callID = peekCallID(dict)
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("ng: request", "client", from, "command", name, "dump", dump(dict))
	}
	idx, known := commandIndex[fold(name)]
	if !known {
		slot = cmdSlot(cmdUnknown)
		out = outcome{reply: errorReply(reasonUnrecognized), result: ResultError}
		return
	}
	slot = idx
	out = s.dispatch(ctx, &commandList[idx], dict, from, len(cookie), enc)
	if out.policy != "" {
		s.refused(from, commandList[idx].name, callID, out.policy)
	}
	return reply // set by the deferred function
}

func (s *Server) dispatch(ctx context.Context, c *command, dict Value, from netip.AddrPort, cookieLen int, enc func(Value) []byte) outcome {
	switch c.kind {
	case cmdDisabled:
		reason := disabledReason(c.name, c.why)
		return outcome{reply: errorReply(reason), result: ResultRefused, policy: reason}
	case cmdUnsupported:
		return outcome{reply: errorReply(unsupportedReason(c.name)), result: ResultError}
	}
	p, err := parseParams(dict, from)
	if err != nil {
		return mapError(err, false)
	}
	rq := &request{ctx: ctx, budget: maxStatsReply - cookieLen - 1, enc: enc}
	return c.run(s, rq, p)
}

// refused reports a policy refusal to the audit log, rate-limited.
func (s *Server) refused(from netip.AddrPort, command, callID, reason string) {
	if ok, _ := s.refuses.allow(); !ok {
		s.stats.eventsSuppressed.Add(1)
		return
	}
	if s.events != nil {
		s.events.CommandRefused(from, command, callID, reason)
	}
}

// logResult logs one processed request: refusals at Warn and errors at
// Info (both rate-limited), everything at Debug with a redacted dump.
func (s *Server) logResult(from netip.AddrPort, command, callID string, out outcome, reply []byte) {
	switch out.result {
	case ResultRefused, ResultError, ResultLoadLimit:
		if ok, n := s.warns.allow(); ok {
			reason, _ := out.reply.Get("error-reason").Str()
			level := slog.LevelInfo
			if out.result == ResultRefused {
				level = slog.LevelWarn
			}
			s.log.Log(context.Background(), level, "ng: command not completed", "client", from,
				"command", command, "call-id", callID, "result", out.result, "reason", reason, "suppressed", n)
		}
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("ng: reply", "client", from, "command", command, "call-id", callID,
			"result", out.result, "bytes", len(reply), "dump", dump(out.reply))
	}
}

// peekCallID finds the call-id for logs and audit before the full parse;
// like the parser, it takes the last spelling present.
func peekCallID(d Value) string {
	id := ""
	for _, e := range d.Entries() {
		if fold(e.Key) == "call id" {
			if s, ok := e.Value.text(); ok {
				id = s
			}
		}
	}
	return id
}

// frame is `<cookie><SP><payload>`; the cookie is echoed verbatim.
func frame(cookie, payload []byte) []byte {
	b := make([]byte, 0, len(cookie)+1+len(payload))
	b = append(b, cookie...)
	b = append(b, ' ')
	return append(b, payload...)
}
