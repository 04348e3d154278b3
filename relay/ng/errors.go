package ng

import (
	"context"
	"errors"
	"fmt"

	"github.com/srtpgw/srtpgw/relay"
)

// Every ng error text srtpgw sends is in this file (DESIGN §8: one place).
// The ones Kamailio and OpenSIPS act on are rtpengine's exact strings:
// Kamailio 5.6 fails over to another node only on "Ran out of ports",
// "Parallel session limit reached" or `result: load limit`; any other
// error fails the call (ng-protocol.md b.2).
const (
	reasonNoPayload      = "Invalid data (no payload)"
	reasonBadFormat      = "Invalid NG data format" // neither 'd' nor '{' first
	reasonNoCommand      = `Dictionary contains no key "command"`
	reasonUnrecognized   = "Unrecognized command"
	reasonNoCallID       = "No call-id in message"
	reasonNoFromTag      = "No from-tag in message"
	reasonNoToTag        = "No to-tag in message"
	reasonNoSDP          = "No SDP body in message"
	reasonBadSDP         = "Failed to parse SDP"
	reasonIncompleteSDP  = "Incomplete SDP specification"
	reasonUnknownCall    = "Unknown call-id"
	reasonNoPorts        = "Ran out of ports"
	reasonSessionLimit   = "Parallel session limit reached"
	reasonShuttingDown   = "srtpgw is shutting down and accepts no new calls"
	reasonUnavailable    = "srtpgw is not ready: it cannot record calls"
	reasonCancelled      = "Request cancelled before it completed"
	reasonInternal       = "Internal error (see the srtpgw log)"
	reasonBadBencode     = "Could not decode bencode dictionary"
	reasonBadJSON        = "Failed to parse JSON document"
	reasonDeleteNotFound = "Call-ID not found or tags didn't match" // delete: warning, or error with flags:[fatal]
)

// Result values of an ng reply (ng-protocol.md b.2).
const (
	resultOK        = "ok"
	resultPong      = "pong"
	resultError     = "error"
	resultLoadLimit = "load limit"
)

// requestError is a request refused by the ng layer itself (a missing or
// malformed key); its text is the error-reason.
type requestError struct{ reason string }

func (e *requestError) Error() string { return e.reason }

// Request errors: a key present with a value srtpgw will not guess at.
var (
	errReceivedFrom  = &requestError{`Invalid received-from: expected ["IP4"|"IP6", "<address>"]`}
	errMediaAddress  = &requestError{"Invalid media-address: expected an IPv4 or IPv6 address"}
	errAddressFamily = &requestError{"Invalid address-family: expected IP4 or IP6"}
	errLimit         = &requestError{"invalid limit, must be >= 0"} // sic, rtpengine 10.5
	errRTPPFlags     = &requestError{"rtpp-flags is not supported by srtpgw: send the flags as ng keys"}
)

func badValue(key, want string) error {
	return &requestError{fmt.Sprintf("Invalid value for key %s: expected %s", quote(key), want)}
}

func errTransport(value string) error {
	return &requestError{"Unknown transport-protocol " + quote(value)}
}

func errDTLSMode(key, value string) error {
	return &requestError{fmt.Sprintf("Unknown %s value %s", key, quote(value))}
}

func errFingerprintHash(value string) error {
	return &requestError{"Unknown DTLS-fingerprint hash " + quote(value)}
}

func errDeleteDelay(key string) error {
	return &requestError{fmt.Sprintf("Invalid %s: expected 0 to %d seconds", key, maxDeleteDelay)}
}

// errorReply is an ng reply with `result: error`. rtpengine adds `result`
// before `error-reason` (live: d6:result5:error12:error-reason...e); the
// same order is kept so replies match it byte for byte.
func errorReply(reason string) Value {
	return Dict(E("result", String(resultError)), E("error-reason", String(reason)))
}

// loadLimitReply is the reply that makes Kamailio try the next node
// without marking this one broken (rtpengine's magic_load_limit_strings).
func loadLimitReply(message string) Value {
	return Dict(E("result", String(resultLoadLimit)), E("message", String(message)))
}

// decodeFailure is the error-reason for a payload that does not decode.
// The codec error adds where and why, never content.
func decodeFailure(isJSON bool, err error) string {
	base := reasonBadBencode
	if isJSON {
		base = reasonBadJSON
	}
	var se *SyntaxError
	var le *LimitError
	switch {
	case errors.Is(err, ErrTruncated):
		return base + " (truncated)"
	case errors.As(err, &le):
		return fmt.Sprintf("%s (%s over %d)", base, le.What, le.Max)
	case errors.As(err, &se):
		return fmt.Sprintf("%s (%s at offset %d)", base, se.Reason, se.Offset)
	}
	return base
}

// outcome is a mapped error: the reply to send, the result label for the
// statistics, and, for policy refusals, the reason for the audit log.
type outcome struct {
	reply  Value
	result string // one of the Result* stats labels
	policy string // non-empty for a policy refusal
}

// mapError turns an Engine or parser error into the reply srtpgw sends.
// loadLimitOK is set when the request carried `supports: ["load limit"]`.
// Unknown errors get a generic text: their detail (wrapped paths,
// addresses) stays in the log.
func mapError(err error, loadLimitOK bool) outcome {
	var pe *relay.PolicyError
	var re *requestError
	fail := func(reason string) outcome { return outcome{reply: errorReply(reason), result: ResultError} }
	switch {
	case errors.As(err, &pe):
		return outcome{reply: errorReply(pe.Error()), result: ResultRefused, policy: pe.Reason}
	case errors.As(err, &re):
		return fail(re.reason)
	case errors.Is(err, relay.ErrBadRequest):
		// The relay wraps it with what is wrong, for the operator
		// ("bad request: ICE=force is not supported yet; ...").
		return fail(bounded(err.Error()))
	case errors.Is(err, relay.ErrSessionLimit):
		if loadLimitOK {
			return outcome{reply: loadLimitReply(reasonSessionLimit), result: ResultLoadLimit}
		}
		return fail(reasonSessionLimit)
	case errors.Is(err, relay.ErrNoPorts):
		return fail(reasonNoPorts)
	case errors.Is(err, relay.ErrUnknownCall):
		return fail(reasonUnknownCall)
	case errors.Is(err, relay.ErrNoCallID):
		return fail(reasonNoCallID)
	case errors.Is(err, relay.ErrNoFromTag):
		return fail(reasonNoFromTag)
	case errors.Is(err, relay.ErrNoToTag):
		return fail(reasonNoToTag)
	case errors.Is(err, relay.ErrNoSDP):
		return fail(reasonNoSDP)
	case errors.Is(err, relay.ErrBadSDP):
		return fail(reasonBadSDP)
	case errors.Is(err, relay.ErrIncompleteSDP):
		return fail(reasonIncompleteSDP)
	case errors.Is(err, relay.ErrShuttingDown), errors.Is(err, relay.ErrUnavailable):
		// A draining gateway, or one that cannot write its call log,
		// should not fail the call: with load-limit support (Kamailio
		// always sends it) the proxy moves the offer to another node.
		reason := reasonShuttingDown
		if errors.Is(err, relay.ErrUnavailable) {
			reason = reasonUnavailable
		}
		if loadLimitOK {
			return outcome{reply: loadLimitReply(reason), result: ResultLoadLimit}
		}
		return fail(reason)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fail(reasonCancelled)
	}
	return fail(reasonInternal)
}

// bounded caps an error text taken from an error value, so that one
// verbose error cannot inflate a reply past the MTU.
func bounded(s string) string {
	const maxReason = 300
	if len(s) > maxReason {
		return s[:maxReason] + "..."
	}
	return s
}

// disabledReason is the error-reason for a command srtpgw refuses by
// policy (see commands.go for which and why).
func disabledReason(command, why string) string {
	return command + " is disabled by policy: " + why
}

// unsupportedReason is the error-reason for a harmless command srtpgw has
// no implementation of.
func unsupportedReason(command string) string {
	return command + " is not supported by srtpgw"
}

// Why texts for disabled commands.
const (
	whyMedia = "srtpgw never copies or injects media"
	whyCLI   = "srtpgw takes no administrative commands over ng"
)
