package crypto

import (
	"errors"

	"github.com/pion/srtp/v3"
)

// Packet-path errors. Session methods return exactly these values (never a wrapped or
// freshly allocated error), so the relay can classify a drop with == and no allocation.
var (
	// ErrAuth: the SRTP/SRTCP authentication tag did not verify (RFC 3711 §3.3 step 5,
	// RFC 7714 §8.2). The packet may be forged, corrupted or keyed for another session.
	ErrAuth = errors.New("crypto: SRTP authentication failed")
	// ErrReplay: the packet index was already seen or is behind the replay window
	// (RFC 3711 §3.3.2).
	ErrReplay = errors.New("crypto: SRTP replayed packet")
	// ErrMalformed: the packet is too short, not RTP/RTCP version 2, or otherwise unparseable.
	ErrMalformed = errors.New("crypto: malformed RTP/RTCP packet")
	// ErrKeyExhausted: 2^48 SRTP or 2^31 SRTCP packets have been protected with this master
	// key (RFC 3711 §9.2). The call must be rekeyed (a new DTLS handshake) or terminated;
	// the Session refuses to encrypt more in that direction.
	ErrKeyExhausted = errors.New("crypto: SRTP master key exhausted, rekey or terminate")
)

// Handshake and signalling errors. These may be wrapped with context; use errors.Is.
var (
	// ErrFingerprintMismatch: the peer's certificate matches none of the strongest
	// a=fingerprint values from the SDP (RFC 8122 §5). Returned by Handshake before any key
	// has been exported (possible MITM, security requirement A6).
	ErrFingerprintMismatch = errors.New("crypto: peer certificate does not match SDP fingerprint")
	// ErrWeakFingerprint: an a=fingerprint uses md5, sha-1 or sha-224, which the policy refuses
	// (security requirement T4).
	ErrWeakFingerprint = errors.New("crypto: fingerprint hash too weak")
	// ErrMalformedFingerprint: an a=fingerprint value that does not parse (RFC 8122 §5 grammar)
	// or names an unknown hash function.
	ErrMalformedFingerprint = errors.New("crypto: malformed fingerprint")
	// ErrHandshakeLimit: no handshake slot free, globally or for this source (security
	// requirement A4). Handshake fails fast with it instead of queueing.
	ErrHandshakeLimit = errors.New("crypto: too many concurrent DTLS handshakes")
	// ErrHandshakeTimeout: the handshake did not finish within EndpointConfig.Timeout.
	ErrHandshakeTimeout = errors.New("crypto: DTLS handshake timed out")
	// ErrPolicy: the peer negotiated something outside the policy (no SRTP profile, an MKI,
	// a disallowed suite or profile). Checked again after pion's own negotiation, as a backstop.
	ErrPolicy = errors.New("crypto: DTLS-SRTP negotiation outside policy")
	// ErrClosed: the Endpoint was closed.
	ErrClosed = errors.New("crypto: endpoint closed")
)

// pion/srtp reports replays and key exhaustion with unexported errors. Rather than matching
// error strings, provoke each once at start-up and keep the sentinel pion really returns;
// session_test.go pins that both were found.
var pionErrDuplicated, pionErrExceeded = probePionErrors()

func probePionErrors() (dup, exceeded error) {
	key := make([]byte, 16)
	salt := make([]byte, 14)
	pkt := []byte{0x80, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa}

	enc, err1 := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	dec, err2 := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80,
		srtp.SRTPReplayProtection(64))
	if err1 != nil || err2 != nil {
		return nil, nil
	}
	ct, err := enc.EncryptRTP(nil, pkt, nil)
	if err == nil {
		if _, err = dec.DecryptRTP(nil, ct, nil); err == nil {
			_, err = dec.DecryptRTP(nil, ct, nil)
			dup = errors.Unwrap(err)
		}
	}

	// Sequence 0xffff with the ROC at its maximum, then one more packet: the 48-bit index
	// would wrap (RFC 3711 §3.3.1), which pion refuses.
	ex, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		return dup, nil
	}
	ex.SetROC(1, ^uint32(0))
	if _, err = ex.EncryptRTP(nil, pkt, nil); err == nil {
		next := append([]byte(nil), pkt...)
		next[2], next[3] = 0, 0
		_, exceeded = ex.EncryptRTP(nil, next, nil)
	}
	return dup, exceeded
}

// classify maps an error from pion onto the packet-path sentinels without allocating.
// Anything pion rejects that is neither an auth failure, a replay nor exhaustion is a
// malformed packet as far as the relay is concerned.
func classify(err error) error {
	switch {
	case errors.Is(err, srtp.ErrFailedToVerifyAuthTag):
		return ErrAuth
	case pionErrDuplicated != nil && errors.Is(err, pionErrDuplicated):
		return ErrReplay
	case pionErrExceeded != nil && errors.Is(err, pionErrExceeded):
		return ErrKeyExhausted
	case errors.Is(err, srtp.ErrMKINotFound):
		// We never negotiate an MKI, so a packet that seems to carry one fails authentication
		// of our key anyway.
		return ErrAuth
	}
	return ErrMalformed
}
