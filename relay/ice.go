package relay

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// srtpgw is an ICE-lite agent (RFC 8445 §2.5) on WebRTC upstream legs: it
// has one host candidate per component (its own advertised address, so
// there is nothing to gather), never sends connectivity checks, and answers
// the peer's checks. The peer is a full agent and controlling (RFC 8445
// §6.1.1): it validates the pair and nominates it with USE-CANDIDATE.
//
// Why not a pion PeerConnection per call: it costs a dozen goroutines, over
// 100 KiB and tens of µs per packet (README "WebRTC upstreams"); checks are
// one packet a second per call, so answering them in the stream's own read
// loop keeps ICE calls on the same zero-goroutine packet path as the rest.

// consentTimeout is RFC 7675 §5.1: media stops 30 s after the last
// successful check, so a peer that went away (or never wanted the media)
// stops receiving it.
const consentTimeout = 30 * time.Second

// iceCreds are srtpgw's ICE credentials toward one party (RFC 8839 §5.4:
// ufrag at least 4 characters, pwd at least 22, from the ice-char set).
type iceCreds struct {
	ufrag, pwd string
}

const iceChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"

func randomICE(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = iceChars[int(b[i])%len(iceChars)]
	}
	return string(b)
}

func newICECreds() iceCreds {
	return iceCreds{ufrag: randomICE(8), pwd: randomICE(26)}
}

// iceStream is the ICE-lite state of one component (one socket).
type iceStream struct {
	creds     iceCreds
	integrity stun.MessageIntegrity
	prefix    []byte // "<our ufrag>:" — the USERNAME of checks sent to us

	// The read loop owns msg and resp; only it handles STUN.
	msg, resp stun.Message

	mu      sync.Mutex
	checked map[netip.AddrPort]bool // sources that passed a check

	nominated atomic.Pointer[netip.AddrPort]
	consent   atomic.Int64 // unix nanos of the last check from the nominated address
}

func newICEStream(c iceCreds) *iceStream {
	return &iceStream{
		creds:     c,
		integrity: stun.NewShortTermIntegrity(c.pwd),
		prefix:    []byte(c.ufrag + ":"),
		checked:   map[netip.AddrPort]bool{},
	}
}

// validated reports whether from has passed a connectivity check: only such
// an address may become the destination (issue: WebRTC upstreams).
func (ice *iceStream) validated(from netip.AddrPort) bool {
	ice.mu.Lock()
	defer ice.mu.Unlock()
	return ice.checked[from]
}

// consented reports whether media may still be sent (RFC 7675).
func (ice *iceStream) consented(now int64) bool {
	return now-ice.consent.Load() < int64(consentTimeout)
}

// maxChecked bounds the validated sources of one stream; a peer has a few
// candidates, not thousands.
const maxChecked = 32

// checkResult is what a STUN datagram meant for the stream.
type checkResult uint8

const (
	checkIgnored   checkResult = iota // indication or response: nothing to do
	checkAnswered                     // valid check: reply in out
	checkNominated                    // valid check with USE-CANDIDATE: reply, and move the destination
	checkRejected                     // not for us, or failed integrity: silently dropped
	checkFirst                        // the stream's first valid check (answered; logged)
)

// handle processes a STUN datagram from `from` and, for a valid binding
// request, writes the success response into out's backing array. A request
// without the right USERNAME or MESSAGE-INTEGRITY is never answered (RFC
// 8445 §7.3: the short-term credential from the SDP authenticates the
// peer; an attacker who does not have it learns nothing from us).
func (ice *iceStream) handle(pkt []byte, from netip.AddrPort, now int64, out []byte) ([]byte, checkResult) {
	m := &ice.msg
	m.Reset()
	m.Raw = append(m.Raw[:0], pkt...)
	if err := m.Decode(); err != nil {
		return nil, checkRejected
	}
	if m.Type.Class == stun.ClassIndication || m.Type.Class == stun.ClassSuccessResponse || m.Type.Class == stun.ClassErrorResponse {
		return nil, checkIgnored // RFC 8445 §11: keepalive indications need no answer
	}
	if m.Type != stun.BindingRequest {
		return nil, checkRejected
	}
	user, err := m.Get(stun.AttrUsername)
	if err != nil || !bytes.HasPrefix(user, ice.prefix) {
		return nil, checkRejected
	}
	if m.Contains(stun.AttrFingerprint) && stun.Fingerprint.Check(m) != nil {
		return nil, checkRejected
	}
	if ice.integrity.Check(m) != nil {
		return nil, checkRejected
	}
	result := checkAnswered
	ice.mu.Lock()
	if len(ice.checked) == 0 {
		result = checkFirst
	}
	if len(ice.checked) < maxChecked || ice.checked[from] {
		ice.checked[from] = true
	}
	ice.mu.Unlock()
	// A lite agent is always controlled; the controlling peer nominates.
	if m.Contains(stun.AttrUseCandidate) {
		if cur := ice.nominated.Load(); cur == nil || *cur != from {
			ice.nominated.Store(&from)
		}
		result = checkNominated
	}
	if cur := ice.nominated.Load(); cur != nil && *cur == from {
		ice.consent.Store(now)
	}
	r := &ice.resp
	r.Reset()
	r.Raw = out[:0]
	err = r.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())},
		ice.integrity, stun.Fingerprint)
	if err != nil {
		return nil, checkRejected
	}
	return r.Raw, result
}

// candidateLines are srtpgw's host candidates for one media (RFC 8839
// §5.1): component 1 on the RTP port, component 2 on the RTCP port unless
// RTCP is multiplexed. Priority per RFC 8445 §5.1.2.1 with the host type
// preference 126 and a single local preference.
func candidateLines(m *Media, adv netip.Addr, mux bool) []string {
	prio := func(component int) uint32 { return 126<<24 | 65535<<8 | uint32(256-component) }
	out := []string{fmt.Sprintf("1 1 UDP %d %s %d typ host", prio(1), adv, m.rtp.advertised.Port())}
	if !mux {
		out = append(out, fmt.Sprintf("1 2 UDP %d %s %d typ host", prio(2), adv, m.rtcp.advertised.Port()))
	}
	return out
}
