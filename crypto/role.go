package crypto

import (
	"errors"
	"fmt"
	"strings"
)

// Role is our side of the DTLS handshake, which follows from the SDP a=setup attribute
// (RFC 4145 §4, RFC 5763 §5): a=setup:active opens the connection, i.e. is the DTLS client.
type Role uint8

const (
	// RoleClient is a=setup:active: we send the ClientHello.
	RoleClient Role = iota + 1
	// RoleServer is a=setup:passive: we wait for the ClientHello.
	RoleServer
)

// SDP a=setup values (RFC 4145 §4).
const (
	SetupActive   = "active"
	SetupPassive  = "passive"
	SetupActpass  = "actpass"
	SetupHoldconn = "holdconn"
)

// ErrSetup reports an a=setup value that leaves no usable DTLS role.
var ErrSetup = errors.New("crypto: unusable a=setup")

// String returns "client" or "server".
func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Setup returns the a=setup value that announces r in an answer: active or passive.
func (r Role) Setup() string {
	if r == RoleServer {
		return SetupPassive
	}
	return SetupActive
}

func normSetup(v string) string { return strings.ToLower(strings.TrimSpace(v)) }

// AnswerSetup decides our a=setup in the answer given the a=setup of the remote offer
// (RFC 5763 §5) and returns it with the role it gives us:
//
//	offer actpass  -> answer active  (RFC 5763 §5: the answerer SHOULD be active, so the
//	                                  offerer's ClientHello-wait never races our media)
//	offer active   -> answer passive
//	offer passive  -> answer active
//	offer holdconn -> error: no connection is wanted, so there is no DTLS to run
//
// An absent or empty value counts as active (RFC 4145 §4 default for the offer). Anything
// else is an error.
func AnswerSetup(remoteOffer string) (answer string, role Role, err error) {
	switch normSetup(remoteOffer) {
	case SetupActpass, SetupPassive:
		return SetupActive, RoleClient, nil
	case SetupActive, "":
		return SetupPassive, RoleServer, nil
	case SetupHoldconn:
		return "", 0, fmt.Errorf("%w: offer is holdconn, no DTLS association wanted", ErrSetup)
	}
	return "", 0, fmt.Errorf("%w: offer has a=setup:%s", ErrSetup, safeQuote(remoteOffer, 16))
}

// OffererRole returns our role after we offered a=setup:actpass (RFC 5763 §5 requires the
// offerer to use actpass) and the remote answered with remoteAnswer:
//
//	answer active  -> we are the server (passive)
//	answer passive -> we are the client (active)
//	answer actpass, holdconn or anything else -> error (RFC 4145 §4: the answer must pick one)
//
// An absent answer value defaults to passive (RFC 4145 §4), so we become the client.
func OffererRole(remoteAnswer string) (Role, error) {
	switch normSetup(remoteAnswer) {
	case SetupActive:
		return RoleServer, nil
	case SetupPassive, "":
		return RoleClient, nil
	case SetupActpass:
		return 0, fmt.Errorf("%w: answer may not be actpass (RFC 4145 §4)", ErrSetup)
	case SetupHoldconn:
		return 0, fmt.Errorf("%w: answer is holdconn, no DTLS association wanted", ErrSetup)
	}
	return 0, fmt.Errorf("%w: answer has a=setup:%s", ErrSetup, safeQuote(remoteAnswer, 16))
}
