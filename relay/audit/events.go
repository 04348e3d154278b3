package audit

import (
	"errors"
	"net/netip"
	"time"
)

var errNoUID = errors.New("audit: Call.UID is empty")

// Event methods. Each appends one record and returns nil once the record
// is accepted: written, or held in the backlog while the disk is failing
// (then Healthy() is false). An error means the record was not logged:
// ErrClosed, ErrBacklogFull, or a Call without UID.
//
// Records marked "fsync" are on disk when the method returns (if the disk
// works); the others are fsynced within Config.SyncInterval.
//
// Callers rate-limit repeated events (floods are reported as one security
// record with a Count), since every record costs a write.

// Startup records the daemon's identity: build version, a digest of its
// effective configuration, and the fingerprint of its DTLS certificate
// (RFC 8122 §5 form). fsync.
func (l *Log) Startup(version, configDigest, certFingerprint string) error {
	version = sanitize(version, maxShort)
	configDigest = sanitize(configDigest, maxText)
	certFingerprint = fingerprint(certFingerprint)
	return l.event(typeStartup, true, func(b []byte) []byte {
		b = field(b, "version")
		b = appendString(b, version)
		b = field(b, "config_digest")
		b = appendString(b, configDigest)
		b = field(b, "cert_fingerprint")
		return appendString(b, certFingerprint)
	}, nil)
}

// CallStart records a new call and adds it to the open-call set.
func (l *Log) CallStart(c Call) error {
	if c.UID == "" {
		return errNoUID
	}
	cr := l.callRec(&c)
	return l.event(typeCallStart, false, func(b []byte) []byte {
		b = field(b, "call")
		return appendCall(b, &cr)
	}, func(ts time.Time, accepted bool) {
		if accepted {
			l.open[cr.UID] = openCall{start: ts, call: cr}
		}
	})
}

// DTLSEstablished records a completed handshake: what protects the media.
func (l *Log) DTLSEstablished(c Call, d DTLSInfo) error {
	if c.UID == "" {
		return errNoUID
	}
	cr := l.callRec(&c)
	leg, role := name(string(d.Leg), true), name(string(d.Role), true)
	profile, suite := name(d.Profile, false), name(d.CipherSuite, false)
	fp := fingerprint(d.PeerFingerprint)
	return l.event(typeDTLSEstablished, false, func(b []byte) []byte {
		b = field(b, "call")
		b = appendCall(b, &cr)
		b = field(b, "leg")
		b = appendString(b, leg)
		b = field(b, "component")
		b = appendInt(b, int64(d.Component))
		b = field(b, "role")
		b = appendString(b, role)
		b = field(b, "profile")
		b = appendString(b, profile)
		b = field(b, "cipher_suite")
		b = appendString(b, suite)
		b = field(b, "peer_fingerprint")
		b = appendString(b, fp)
		b = field(b, "handshake_ms")
		return appendInt(b, millis(d.Handshake))
	}, nil)
}

// DTLSFailed records a handshake that did not produce keys.
func (l *Log) DTLSFailed(c Call, reason string) error {
	if c.UID == "" {
		return errNoUID
	}
	cr := l.callRec(&c)
	reason = sanitize(reason, maxText)
	return l.event(typeDTLSFailed, false, func(b []byte) []byte {
		b = field(b, "call")
		b = appendCall(b, &cr)
		b = field(b, "reason")
		return appendString(b, reason)
	}, nil)
}

// CallEnd records the end of a call with its per-direction totals and
// removes it from the open-call set. fsync.
func (l *Log) CallEnd(c Call, e CallEnd) error {
	if c.UID == "" {
		return errNoUID
	}
	cr := l.callRec(&c)
	e.Reason = sanitize(e.Reason, maxShort)
	return l.event(typeCallEnd, true, func(b []byte) []byte {
		return appendCallEnd(b, &cr, &e)
	}, func(time.Time, bool) {
		// The call is over even if its record was refused (it is
		// counted in the next records_lost record), so it leaves the
		// open set either way.
		delete(l.open, cr.UID)
	})
}

// Security records an attack or policy event. c may be nil for events not
// tied to a call (a DTLS flood, a refused control client). fsync.
func (l *Log) Security(kind SecurityKind, c *Call, d SecurityDetail) error {
	k := name(string(kind), true)
	if k == "" {
		k = invalidValue
	}
	var cr *callRec
	if c != nil {
		r := l.callRec(c)
		cr = &r
	}
	leg, reason := name(string(d.Leg), true), sanitize(d.Reason, maxText)
	return l.event(typeSecurity, true, func(b []byte) []byte {
		b = field(b, "kind")
		b = appendString(b, k)
		b = field(b, "call")
		if cr == nil {
			b = append(b, "null"...)
		} else {
			b = appendCall(b, cr)
		}
		b = field(b, "leg")
		b = appendString(b, leg)
		b = field(b, "source")
		b = appendAddr(b, d.Source)
		b = field(b, "count")
		b = appendUint(b, d.Count)
		b = field(b, "window_ms")
		b = appendInt(b, millis(d.Window))
		b = field(b, "reason")
		return appendString(b, reason)
	}, nil)
}

// ControlRejected records an ng command that was refused, e.g. one that
// would weaken confidentiality (recording, forwarding), or a malformed one.
func (l *Log) ControlRejected(from netip.AddrPort, command, callID, reason string) error {
	command = sanitize(command, maxShort)
	callID = l.ident(callID)
	reason = sanitize(reason, maxText)
	return l.event(typeControlRejected, false, func(b []byte) []byte {
		b = field(b, "from")
		b = appendAddr(b, from)
		b = field(b, "command")
		b = appendString(b, command)
		b = field(b, "call_id")
		b = appendString(b, callID)
		b = field(b, "reason")
		return appendString(b, reason)
	}, nil)
}

// callRec sanitises c and, with a redaction key, replaces call-id and tags
// by keyed hashes. Empty values stay empty (a missing to-tag is not a
// secret, and hashing "" would make it look like one).
func (l *Log) callRec(c *Call) callRec {
	return callRec{
		UID:           sanitize(c.UID, maxText),
		CallID:        l.ident(c.CallID),
		FromTag:       l.ident(c.FromTag),
		ToTag:         l.ident(c.ToTag),
		FromLabel:     sanitize(c.FromLabel, maxText),
		ToLabel:       sanitize(c.ToLabel, maxText),
		Phone:         addrString(c.Phone),
		PhoneLocal:    addrStrings(c.PhoneLocal),
		Upstream:      addrString(c.Upstream),
		UpstreamLocal: addrStrings(c.UpstreamLocal),
	}
}

func (l *Log) ident(s string) string {
	if s == "" {
		return ""
	}
	if l.redactKey != nil {
		return Redact(l.redactKey, s)
	}
	return sanitize(s, maxText)
}

func appendCallEnd(b []byte, c *callRec, e *CallEnd) []byte {
	b = field(b, "call")
	b = appendCall(b, c)
	b = field(b, "start")
	b = appendTime(b, e.Start)
	b = field(b, "end")
	b = appendTime(b, e.End)
	b = field(b, "duration_ms")
	dur := int64(0)
	if !e.Start.IsZero() && !e.End.IsZero() {
		dur = millis(e.End.Sub(e.Start))
	}
	b = appendInt(b, dur)
	b = field(b, "end_reason")
	b = appendString(b, e.Reason)
	b = field(b, "phone_to_upstream")
	b = appendDirection(b, &e.PhoneToUpstream)
	b = field(b, "upstream_to_phone")
	return appendDirection(b, &e.UpstreamToPhone)
}
