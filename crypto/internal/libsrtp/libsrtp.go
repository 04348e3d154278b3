//go:build interop && cgo

// Package libsrtp is a minimal, test-only cgo binding to libsrtp2 (apt: libsrtp2-dev), the
// independent SRTP implementation crypto's interop tests check Sessions against
// (DESIGN §4). It is built only with -tags interop, so normal builds stay CGO-free.
package libsrtp

/*
#cgo pkg-config: libsrtp2
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

// create sets up a session with one wildcard-SSRC stream in one direction. profile is the
// DTLS-SRTP code point (1, 7, 8); key is master key || master salt.
static srtp_err_status_t create(srtp_t *s, int profile, int outbound, unsigned char *key, unsigned long window) {
	srtp_policy_t p;
	memset(&p, 0, sizeof p);
	switch (profile) {
	case 1:
		srtp_crypto_policy_set_rtp_default(&p.rtp);
		srtp_crypto_policy_set_rtcp_default(&p.rtcp);
		break;
	case 7:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
		break;
	case 8:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
		break;
	default:
		return srtp_err_status_bad_param;
	}
	p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	p.key = key;
	p.window_size = window;
	p.allow_repeat_tx = 0;
	p.next = NULL;
	return srtp_create(s, &p);
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// trailerRoom is what protect may append: tag plus MKI, plus the SRTCP index word.
const trailerRoom = C.SRTP_MAX_TRAILER_LEN + 4

var initOnce sync.Once
var initErr error

// Session is one libsrtp session in one direction.
type Session struct {
	s C.srtp_t
}

// New creates a session. profile is the DTLS-SRTP code point (0x0001, 0x0007, 0x0008).
func New(profile uint16, outbound bool, key, salt []byte, window int) (*Session, error) {
	initOnce.Do(func() {
		if st := C.srtp_init(); st != C.srtp_err_status_ok {
			initErr = fmt.Errorf("srtp_init: status %d", int(st))
		}
	})
	if initErr != nil {
		return nil, initErr
	}
	km := C.CBytes(append(append([]byte(nil), key...), salt...))
	defer func() {
		C.memset(km, 0, C.size_t(len(key)+len(salt)))
		C.free(km)
	}()
	out := C.int(0)
	if outbound {
		out = 1
	}
	s := &Session{}
	if st := C.create(&s.s, C.int(profile), out, (*C.uchar)(km), C.ulong(window)); st != C.srtp_err_status_ok {
		return nil, fmt.Errorf("srtp_create: status %d", int(st))
	}
	return s, nil
}

type op func(C.srtp_t, unsafe.Pointer, *C.int) C.srtp_err_status_t

func (s *Session) run(f op, name string, pkt []byte) ([]byte, error) {
	buf := C.malloc(C.size_t(len(pkt) + trailerRoom))
	defer C.free(buf)
	if len(pkt) > 0 {
		C.memcpy(buf, unsafe.Pointer(&pkt[0]), C.size_t(len(pkt)))
	}
	n := C.int(len(pkt))
	if st := f(s.s, buf, &n); st != C.srtp_err_status_ok {
		return nil, fmt.Errorf("%s: status %d", name, int(st))
	}
	return C.GoBytes(buf, n), nil
}

// ProtectRTP is srtp_protect.
func (s *Session) ProtectRTP(pkt []byte) ([]byte, error) {
	return s.run(func(c C.srtp_t, b unsafe.Pointer, n *C.int) C.srtp_err_status_t { return C.srtp_protect(c, b, n) }, "srtp_protect", pkt)
}

// UnprotectRTP is srtp_unprotect.
func (s *Session) UnprotectRTP(pkt []byte) ([]byte, error) {
	return s.run(func(c C.srtp_t, b unsafe.Pointer, n *C.int) C.srtp_err_status_t { return C.srtp_unprotect(c, b, n) }, "srtp_unprotect", pkt)
}

// ProtectRTCP is srtp_protect_rtcp.
func (s *Session) ProtectRTCP(pkt []byte) ([]byte, error) {
	return s.run(func(c C.srtp_t, b unsafe.Pointer, n *C.int) C.srtp_err_status_t { return C.srtp_protect_rtcp(c, b, n) }, "srtp_protect_rtcp", pkt)
}

// UnprotectRTCP is srtp_unprotect_rtcp.
func (s *Session) UnprotectRTCP(pkt []byte) ([]byte, error) {
	return s.run(func(c C.srtp_t, b unsafe.Pointer, n *C.int) C.srtp_err_status_t {
		return C.srtp_unprotect_rtcp(c, b, n)
	}, "srtp_unprotect_rtcp", pkt)
}

// Close frees the session.
func (s *Session) Close() {
	if s.s != nil {
		C.srtp_dealloc(s.s)
		s.s = nil
	}
}
