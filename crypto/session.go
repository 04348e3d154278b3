package crypto

import (
	"encoding/binary"
	"fmt"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// Replay window bounds, in packets (RFC 3711 §3.3.2: "SHOULD" be at least 64). The default
// matches libsrtp's. The maximum bounds the per-SSRC bitmap pion allocates (window/8 bytes).
const (
	MinReplayWindow     = 64
	DefaultReplayWindow = 128
	MaxReplayWindow     = 1 << 15
)

// Session holds four srtp.Contexts: encrypt RTP, encrypt RTCP, decrypt RTP, decrypt RTCP.
//
// Concurrency contract: each of the four directions may be driven by its own goroutine, but
// each direction by only ONE goroutine at a time (pion contexts are not goroutine-safe and
// the Session does no locking, DESIGN §3). Each direction owns its scratch header, so no
// two directions share mutable state.
//
// Buffer contract for the four methods: the result is written into dst's backing array and
// returned as dst[:n], whatever len(dst) was; nothing is allocated when cap(dst) is enough
// (len(pkt)+Overhead() to encrypt RTP, len(pkt)+RTCPOverhead() for RTCP, len(pkt) to
// decrypt). dst may alias pkt exactly (in-place, same first byte) but must not overlap it
// otherwise. On error dst[:0] is returned with one of ErrAuth, ErrReplay, ErrMalformed or
// ErrKeyExhausted, compared with == (no allocation on our side). Valid packets, malformed
// packets (rejected here before pion) and AES-CM auth failures allocate nothing; inside pion
// a replay drop allocates once and an AES-GCM auth failure about 8 times (pion wraps the
// AEAD error with fmt.Errorf). TestSessionErrorPathAllocs tracks these numbers.
type Session struct {
	profile Profile
	encRTP  rtpDir
	decRTP  rtpDir
	encRTCP rtcpDir
	decRTCP rtcpDir
}

type rtpDir struct {
	ctx *srtp.Context
	hdr rtp.Header // reused so pion's header parse allocates nothing per packet
}

type rtcpDir struct {
	ctx *srtp.Context
	hdr rtcp.Header
}

// NewSession builds the four contexts from keys. replayWindow 0 means DefaultReplayWindow;
// otherwise it must lie in [MinReplayWindow, MaxReplayWindow]. Replay protection is switched
// on explicitly for both SRTP and SRTCP decryption, because pion's CreateContext defaults to
// none (security requirement T7). pion's NULL-cipher and no-encryption options are never used.
// The Session keeps no reference to keys' slices; the caller may Wipe them afterwards.
func NewSession(keys SessionKeys, replayWindow uint) (*Session, error) {
	if err := keys.Validate(); err != nil {
		return nil, err
	}
	if replayWindow == 0 {
		replayWindow = DefaultReplayWindow
	}
	if replayWindow < MinReplayWindow || replayWindow > MaxReplayWindow {
		return nil, fmt.Errorf("crypto: replay window %d outside [%d, %d] (RFC 3711 §3.3.2)",
			replayWindow, MinReplayWindow, MaxReplayWindow)
	}
	pp, err := keys.Profile.srtpProfile()
	if err != nil {
		return nil, err
	}
	replay := []srtp.ContextOption{
		srtp.SRTPReplayProtection(replayWindow),
		srtp.SRTCPReplayProtection(replayWindow),
	}
	s := &Session{profile: keys.Profile}
	for _, c := range []struct {
		dst       **srtp.Context
		key, salt []byte
		opts      []srtp.ContextOption
	}{
		{&s.encRTP.ctx, keys.LocalKey, keys.LocalSalt, nil},
		{&s.encRTCP.ctx, keys.LocalKey, keys.LocalSalt, nil},
		{&s.decRTP.ctx, keys.RemoteKey, keys.RemoteSalt, replay},
		{&s.decRTCP.ctx, keys.RemoteKey, keys.RemoteSalt, replay},
	} {
		ctx, err := srtp.CreateContext(c.key, c.salt, pp, c.opts...)
		if err != nil {
			// pion's message names lengths and the profile only, never key bytes.
			return nil, fmt.Errorf("crypto: creating SRTP context: %w", err)
		}
		*c.dst = ctx
	}
	return s, nil
}

// Profile returns the session's SRTP protection profile.
func (s *Session) Profile() Profile { return s.profile }

// EncryptRTP protects one RTP packet (RFC 3711 §3.3, RFC 7714 §8).
func (s *Session) EncryptRTP(dst, pkt []byte) ([]byte, error) {
	if rtpHeaderLen(pkt) < 0 {
		return dst[:0], ErrMalformed
	}
	out, err := s.encRTP.ctx.EncryptRTP(dst, pkt, &s.encRTP.hdr)
	if err != nil {
		return dst[:0], classify(err)
	}
	return out, nil
}

// DecryptRTP verifies, replay-checks and decrypts one SRTP packet (RFC 3711 §3.3 steps 1-6).
// The replay window is only advanced for packets that authenticate.
func (s *Session) DecryptRTP(dst, pkt []byte) ([]byte, error) {
	hl := rtpHeaderLen(pkt)
	if hl < 0 || len(pkt) < hl+s.profile.Overhead() {
		return dst[:0], ErrMalformed
	}
	out, err := s.decRTP.ctx.DecryptRTP(dst, pkt, &s.decRTP.hdr)
	if err != nil {
		return dst[:0], classify(err)
	}
	return out, nil
}

// EncryptRTCP protects one RTCP (compound) packet (RFC 3711 §3.4, RFC 7714 §9).
func (s *Session) EncryptRTCP(dst, pkt []byte) ([]byte, error) {
	if !rtcpHeaderOK(pkt, 0) {
		return dst[:0], ErrMalformed
	}
	out, err := s.encRTCP.ctx.EncryptRTCP(dst, pkt, &s.encRTCP.hdr)
	if err != nil {
		return dst[:0], classify(err)
	}
	return out, nil
}

// DecryptRTCP verifies, replay-checks and decrypts one SRTCP packet.
func (s *Session) DecryptRTCP(dst, pkt []byte) ([]byte, error) {
	if !rtcpHeaderOK(pkt, s.profile.RTCPOverhead()) {
		return dst[:0], ErrMalformed
	}
	out, err := s.decRTCP.ctx.DecryptRTCP(dst, pkt, &s.decRTCP.hdr)
	if err != nil {
		return dst[:0], classify(err)
	}
	return out, nil
}

// rtpHeaderLen returns the RTP header length (fixed header, CSRCs, extension; RFC 3550
// §5.1, §5.3.1) or -1 when pkt cannot hold it or is not version 2. Checking here keeps
// malformed input away from pion's error paths, which allocate.
func rtpHeaderLen(pkt []byte) int {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return -1
	}
	n := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < n+4 {
			return -1
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	if len(pkt) < n {
		return -1
	}
	return n
}

// rtcpHeaderOK checks pkt holds an RTCP header with sender SSRC (RFC 3550 §6.4.1) plus
// trailer bytes, and is version 2.
func rtcpHeaderOK(pkt []byte, trailer int) bool {
	return len(pkt) >= 8+trailer && pkt[0]>>6 == 2
}
