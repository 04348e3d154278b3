package relay

import "errors"

// Errors callers branch on. The ng layer maps each to rtpengine's exact
// error-reason string in one place (relay/ng); nothing else needs to know
// the wire text. Policy refusals are *PolicyError values instead, because
// each carries its own reason.
var (
	ErrBadRequest    = errors.New("bad request") // wrapped with what is wrong
	ErrNoCallID      = errors.New("no call-id in message")
	ErrNoFromTag     = errors.New("no from-tag in message")
	ErrNoToTag       = errors.New("no to-tag in message")
	ErrNoSDP         = errors.New("no SDP body in message")
	ErrBadSDP        = errors.New("failed to parse SDP")
	ErrIncompleteSDP = errors.New("incomplete SDP specification")
	ErrUnknownCall   = errors.New("unknown call-id")
	ErrNoPorts       = errors.New("ran out of ports")
	ErrSessionLimit  = errors.New("parallel session limit reached")
	ErrShuttingDown  = errors.New("shutting down: not accepting new calls")
	ErrUnavailable   = errors.New("not ready: cannot record calls") // e.g. audit log unwritable
)

// PolicyError is a request refused because it would weaken confidentiality
// (plain RTP, SDES or NULL profiles upstream, weak fingerprints, media
// addresses outside the configured networks). Reason is operator-facing
// and never contains key material.
type PolicyError struct {
	Reason string
}

// PolicyPrefix starts every PolicyError message.
const PolicyPrefix = "refused by policy: "

func (e *PolicyError) Error() string { return PolicyPrefix + e.Reason }

// IsPolicy reports whether err is a policy refusal.
func IsPolicy(err error) bool {
	var pe *PolicyError
	return errors.As(err, &pe)
}
