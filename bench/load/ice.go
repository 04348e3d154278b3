package load

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pion/stun/v4"
)

// With -ice every simulated upstream is a minimal full ICE agent (RFC
// 8445) facing an ICE-lite relay: one host candidate (its media socket),
// one pair (to the relay's one candidate), controlling, and it nominates
// that pair with its first check. It never answers checks: a lite relay
// sends none (RFC 8445 §2.5). This file is the wire format; ice_agent.go
// the transactions, ice_stats.go the counting.

// iceChars is the ice-char set of RFC 8839 §5.4.
const iceChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"

// iceCreds are one agent's short-term credentials.
type iceCreds struct{ ufrag, pwd string }

// newICECreds draws fresh credentials: RFC 8839 §5.4 wants at least 24
// bits of randomness in the ufrag (4+ chars) and 128 in the pwd (22+).
func newICECreds() iceCreds { return iceCreds{ufrag: randomICE(8), pwd: randomICE(24)} }

func randomICE(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = iceChars[int(b[i])%len(iceChars)]
	}
	return string(b)
}

// Candidate priorities (RFC 8445 §5.1.2.1): type preference << 24 | local
// preference << 8 | (256 - component), with one local preference (65535)
// since the agent has one address. hostPriority is the upstream's host
// candidate in its SDP; checkPriority goes in the PRIORITY attribute of
// its checks, computed for a peer-reflexive candidate (§7.1.1).
const (
	hostPriority  = 126<<24 | 65535<<8 | 255
	checkPriority = 110<<24 | 65535<<8 | 255
)

// checkRequest is what one agent's binding requests carry (RFC 8445
// §7.1.1-§7.1.2).
type checkRequest struct {
	username   string // "<relay ufrag>:<our ufrag>" (§7.2.2)
	tieBreaker uint64 // ICE-CONTROLLING (§7.1.3), random per agent
	priority   uint32
}

// The ICE attributes pion/stun names but leaves to pion/ice to encode.
type (
	iceControlling uint64 // 64-bit tie-breaker (RFC 8445 §16.1)
	icePriority    uint32
	useCandidate   struct{} // no value (RFC 8445 §16.1)
)

func (t iceControlling) AddTo(m *stun.Message) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t))
	m.Add(stun.AttrICEControlling, b[:])
	return nil
}

func (p icePriority) AddTo(m *stun.Message) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(p))
	m.Add(stun.AttrPriority, b[:])
	return nil
}

func (useCandidate) AddTo(m *stun.Message) error {
	m.Add(stun.AttrUseCandidate, nil)
	return nil
}

// buildCheck writes a binding request into m: USERNAME, ICE-CONTROLLING,
// PRIORITY, USE-CANDIDATE when nominating, then MESSAGE-INTEGRITY keyed
// with the relay's ice-pwd (short-term credential, RFC 8489 §9.1) and
// FINGERPRINT, which must come last in that order (RFC 8489 §14.5, §14.7).
func buildCheck(m *stun.Message, tx [stun.TransactionIDSize]byte, req checkRequest, nominate bool, integrity stun.MessageIntegrity) error {
	setters := []stun.Setter{stun.NewTransactionIDSetter(tx), stun.BindingRequest,
		stun.NewUsername(req.username), iceControlling(req.tieBreaker), icePriority(req.priority)}
	if nominate {
		setters = append(setters, useCandidate{})
	}
	setters = append(setters, integrity, stun.Fingerprint)
	return m.Build(setters...)
}

// stunKind is what a STUN datagram received by an upstream is.
type stunKind uint8

const (
	stunSuccess stunKind = iota // binding success response, verified
	stunFailure                 // binding error response (code in the result)
	stunRequest                 // a check from the relay: a full agent, not lite
	stunInvalid                 // undecodable, unverified, or another method
)

var (
	errNoFingerprint = errors.New("stun: response without FINGERPRINT (RFC 8445 §7.2.2)")
	errNotBinding    = errors.New("stun: not a binding message")
)

// parseSTUN decodes b into m (whose buffer is reused) and classifies it.
// A success response must carry a valid FINGERPRINT (RFC 8445 §7.2.2) and
// a MESSAGE-INTEGRITY made with the relay's password, the same key as the
// request's (RFC 8489 §9.1.4): anything else may not be counted as an
// answer. An error response only fails the check, so it is taken with
// whatever it carries, verified: a 400 or 401 need not have
// MESSAGE-INTEGRITY (RFC 8489 §9.1.3), and rtpengine's 487 (role
// conflict) comes without FINGERPRINT.
func parseSTUN(m *stun.Message, b []byte, integrity stun.MessageIntegrity) (stunKind, int, error) {
	m.Reset()
	m.Raw = append(m.Raw, b...)
	if err := m.Decode(); err != nil {
		return stunInvalid, 0, err
	}
	if m.Type.Method != stun.MethodBinding {
		return stunInvalid, 0, errNotBinding
	}
	switch m.Type.Class {
	case stun.ClassRequest:
		return stunRequest, 0, nil
	case stun.ClassIndication:
		return stunInvalid, 0, errNotBinding
	}
	if m.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(m); err != nil {
			return stunInvalid, 0, err
		}
	} else if m.Type.Class == stun.ClassSuccessResponse {
		return stunInvalid, 0, errNoFingerprint
	}
	if m.Type.Class == stun.ClassErrorResponse {
		if m.Contains(stun.AttrMessageIntegrity) {
			if err := integrity.Check(m); err != nil {
				return stunInvalid, 0, err
			}
		}
		var ec stun.ErrorCodeAttribute
		if err := ec.GetFrom(m); err != nil {
			return stunInvalid, 0, err
		}
		return stunFailure, int(ec.Code), nil
	}
	if err := integrity.Check(m); err != nil {
		return stunInvalid, 0, fmt.Errorf("stun: success response: %w", err)
	}
	return stunSuccess, 0, nil
}
