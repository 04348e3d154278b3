package ng

import (
	"context"
	"errors"

	"github.com/srtpgw/srtpgw/relay"
)

// The command table. rtpengine's master defines about thirty commands
// (include/control_ng.h); srtpgw implements the seven a SIP proxy needs to
// anchor and account calls (ng-protocol.md b.11) and sorts the rest into:
//
//   - disabled by policy: anything that copies media out of a call
//     (recording, forwarding, publish/subscribe, connect, mesh, transform,
//     create), puts media into one (play media/DTMF, inject, silence, which
//     rewrites the payload), the matching stop/undo commands (there is
//     nothing to stop, and answering "ok" would claim otherwise), and `cli`
//     (remote administration over an unauthenticated channel). These are
//     counted as refused, logged and reported to Events.CommandRefused,
//     because someone asking for them is worth an audit record (DESIGN §5).
//   - unsupported: block/unblock DTMF and block/unblock media only drop
//     packets, which weakens nothing, but the Engine has no such call. They
//     get a plain error and no audit record.
//
// Everything else is "Unrecognized command", as in rtpengine. Command names
// are matched folded ("Start-Recording" is still refused and audited).

type cmdKind uint8

const (
	cmdRun         cmdKind = iota // implemented
	cmdDisabled                   // refused by policy
	cmdUnsupported                // harmless, not implemented
)

type command struct {
	name string // rtpengine's spelling; also the stats label
	kind cmdKind
	why  string // cmdDisabled: the reason
	run  func(s *Server, rq *request, p *params) outcome
}

// request is one command being processed.
type request struct {
	ctx    context.Context
	budget int                // bytes a query/delete reply may use (MTU bound, b.9)
	enc    func(Value) []byte // the reply encoding, to measure the reply
}

// Pseudo-commands for the statistics: an unknown command name, and a
// payload that is not a dictionary with a command.
const (
	cmdUnknown = "unknown"
	cmdInvalid = "invalid"
)

var commandList = []command{
	{name: "ping", run: runPing},
	{name: "offer", run: runOffer},
	{name: "answer", run: runAnswer},
	{name: "delete", run: runDelete},
	{name: "query", run: runQuery},
	{name: "list", run: runList},
	{name: "statistics", run: runStatistics},

	{name: "start recording", kind: cmdDisabled, why: whyMedia},
	{name: "stop recording", kind: cmdDisabled, why: whyMedia},
	{name: "pause recording", kind: cmdDisabled, why: whyMedia},
	{name: "start forwarding", kind: cmdDisabled, why: whyMedia},
	{name: "stop forwarding", kind: cmdDisabled, why: whyMedia},
	{name: "play media", kind: cmdDisabled, why: whyMedia},
	{name: "stop media", kind: cmdDisabled, why: whyMedia},
	{name: "play DTMF", kind: cmdDisabled, why: whyMedia},
	{name: "silence media", kind: cmdDisabled, why: whyMedia},
	{name: "unsilence media", kind: cmdDisabled, why: whyMedia},
	{name: "publish", kind: cmdDisabled, why: whyMedia},
	{name: "subscribe request", kind: cmdDisabled, why: whyMedia},
	{name: "subscribe answer", kind: cmdDisabled, why: whyMedia},
	{name: "unsubscribe", kind: cmdDisabled, why: whyMedia},
	{name: "inject start", kind: cmdDisabled, why: whyMedia},
	{name: "inject stop", kind: cmdDisabled, why: whyMedia},
	{name: "transform", kind: cmdDisabled, why: whyMedia},
	{name: "connect", kind: cmdDisabled, why: whyMedia},
	{name: "create", kind: cmdDisabled, why: whyMedia},
	{name: "create answer", kind: cmdDisabled, why: whyMedia},
	{name: "mesh", kind: cmdDisabled, why: whyMedia},
	{name: "cli", kind: cmdDisabled, why: whyCLI},

	{name: "block DTMF", kind: cmdUnsupported},
	{name: "unblock DTMF", kind: cmdUnsupported},
	{name: "block media", kind: cmdUnsupported},
	{name: "unblock media", kind: cmdUnsupported},
}

// commandIndex maps a folded command name to its index in commandList.
var commandIndex = func() map[string]int {
	m := make(map[string]int, len(commandList))
	for i, c := range commandList {
		m[fold(c.name)] = i
	}
	return m
}()

// Commands lists every command label the statistics can carry, for a
// metrics collector that wants all series present from the start.
func Commands() []string {
	out := make([]string, 0, len(commandList)+2)
	for _, c := range commandList {
		out = append(out, c.name)
	}
	return append(out, cmdUnknown, cmdInvalid)
}

func ok(entries ...Entry) outcome {
	return outcome{reply: Dict(append(entries, E("result", String(resultOK)))...), result: ResultOK}
}

func runPing(*Server, *request, *params) outcome {
	return outcome{reply: Dict(E("result", String(resultPong))), result: ResultPong}
}

func runOffer(s *Server, rq *request, p *params) outcome  { return offerAnswer(s, rq, p, false) }
func runAnswer(s *Server, rq *request, p *params) outcome { return offerAnswer(s, rq, p, true) }

func offerAnswer(s *Server, rq *request, p *params, answer bool) outcome {
	req, err := p.offerAnswer(answer)
	if err != nil {
		return mapError(err, p.supportsLoadLimit)
	}
	var sdp []byte
	if answer {
		sdp, err = s.engine.Answer(rq.ctx, req)
	} else {
		sdp, err = s.engine.Offer(rq.ctx, req)
	}
	if err != nil {
		return mapError(err, p.supportsLoadLimit)
	}
	// rtpengine puts `sdp` before `result` (ng-protocol.md b.1).
	return ok(E("sdp", Bytes(sdp)))
}

func runDelete(s *Server, rq *request, p *params) outcome {
	dr, err := p.deleteRequest()
	if err != nil {
		return mapError(err, p.supportsLoadLimit)
	}
	info, err := s.engine.Delete(rq.ctx, dr)
	switch {
	case errors.Is(err, relay.ErrUnknownCall) && p.req.Flags.Fatal:
		return outcome{reply: errorReply(reasonDeleteNotFound), result: ResultError}
	case errors.Is(err, relay.ErrUnknownCall):
		// Kamailio deletes on every BYE, CANCEL and failure reply, often
		// twice; an unknown call is normal and only a warning (b.2).
		return outcome{reply: Dict(E("warning", String(reasonDeleteNotFound)), E("result", String(resultOK))), result: ResultOK}
	case err != nil:
		return mapError(err, p.supportsLoadLimit)
	case info == nil:
		return ok()
	}
	return ok(callInfoEntries(info, rq.budget, rq.enc)...)
}

func runQuery(s *Server, rq *request, p *params) outcome {
	qr, err := p.queryRequest()
	if err != nil {
		return mapError(err, p.supportsLoadLimit)
	}
	info, err := s.engine.Query(rq.ctx, qr)
	if err == nil && info == nil {
		err = relay.ErrUnknownCall
	}
	if err != nil {
		return mapError(err, p.supportsLoadLimit)
	}
	return ok(callInfoEntries(info, rq.budget, rq.enc)...)
}

// maxListReply bounds a `list` reply below the UDP payload limit.
const maxListReply = 60000

func runList(s *Server, _ *request, p *params) outcome {
	ids := s.engine.List(p.limit)
	calls := make([]Value, 0, min(len(ids), p.limit))
	size := 0
	for _, id := range ids {
		size += len(id) + 8
		if len(calls) == p.limit || size > maxListReply {
			break
		}
		calls = append(calls, String(id))
	}
	return ok(E("calls", List(calls...)))
}

func runStatistics(s *Server, _ *request, _ *params) outcome {
	return ok(E("statistics", statisticsValue(s.engine.Statistics())))
}
