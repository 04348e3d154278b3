package main

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/audit"
)

// auditSink turns relay and ng events into call-log records. A record the
// log refuses (disk full past its backlog) is logged; the relay's
// admission check (audit.Log.Healthy) then refuses new calls, so no call
// goes unrecorded for long.
type auditSink struct {
	log *audit.Log
	l   *slog.Logger
}

var (
	_ relay.EventSink = auditSink{}
)

func (s auditSink) check(what string, err error) {
	if err != nil {
		s.l.Error("call log write failed", "record", what, "err", err)
	}
}

func auditCall(c relay.CallRecord) audit.Call {
	return audit.Call{
		UID: c.UID, CallID: c.CallID, FromTag: c.FromTag, ToTag: c.ToTag,
		FromLabel: c.FromLabel, ToLabel: c.ToLabel,
		Phone: c.Phone, PhoneLocal: c.PhoneLocal,
		Upstream: c.Upstream, UpstreamLocal: c.UpstreamLocal,
	}
}

func (s auditSink) CallStarted(c relay.CallRecord) {
	s.check("call_start", s.log.CallStart(auditCall(c)))
}

func (s auditSink) DTLSEstablished(c relay.CallRecord, d relay.DTLSRecord) {
	s.check("dtls_established", s.log.DTLSEstablished(auditCall(c), audit.DTLSInfo{
		Leg: audit.LegUpstream, Component: d.Component, Role: audit.Role(d.Role),
		Profile: d.Profile, CipherSuite: d.CipherSuite, PeerFingerprint: d.PeerFingerprint,
		Handshake: d.Duration,
	}))
}

func (s auditSink) DTLSFailed(c relay.CallRecord, d relay.DTLSRecord, reason string) {
	s.check("dtls_failed", s.log.DTLSFailed(auditCall(c), reason))
}

func (s auditSink) CallEnded(c relay.CallRecord, e relay.EndRecord) {
	dir := func(d relay.Direction) audit.Direction {
		return audit.Direction{Packets: d.Forwarded, Bytes: d.FwdBytes, Drops: d.Drops}
	}
	s.check("call_end", s.log.CallEnd(auditCall(c), audit.CallEnd{
		Start: e.Start, End: e.End, Reason: string(e.Reason),
		PhoneToUpstream: dir(e.PhoneToUpstream), UpstreamToPhone: dir(e.UpstreamToPhone),
	}))
}

func (s auditSink) Security(kind string, c relay.CallRecord, detail string, count uint64) {
	ac := auditCall(c)
	leg := audit.LegUpstream
	if kind == relay.SecurityRogueSource {
		leg = audit.LegPhone
	}
	s.check("security", s.log.Security(audit.SecurityKind(kind), &ac, audit.SecurityDetail{
		Leg: leg, Count: count, Window: time.Minute, Reason: detail,
	}))
}

// ClientRejected records an ng datagram from outside --ng-allow.
func (s auditSink) ClientRejected(from netip.AddrPort, reason string) {
	s.check("security", s.log.Security(audit.ControlClientRefused, nil, audit.SecurityDetail{
		Leg: audit.LegControl, Source: from, Count: 1, Reason: reason,
	}))
}

// CommandRefused records an ng command refused by policy: a
// control_rejected record for the request, and for a crypto-policy refusal
// of an offer or answer (a downgrade attempt) a security record as well.
// Disabled commands (recording, forwarding, ...) are never offer/answer.
func (s auditSink) CommandRefused(from netip.AddrPort, command, callID, reason string) {
	s.check("control_rejected", s.log.ControlRejected(from, command, callID, reason))
	if command == "offer" || command == "answer" {
		s.check("security", s.log.Security(audit.PolicyRefused, nil, audit.SecurityDetail{
			Leg: audit.LegControl, Source: from, Count: 1, Reason: reason,
		}))
	}
}
