package crypto

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
)

// Profile is an SRTP protection profile, numbered as in the IANA "DTLS-SRTP Protection
// Profiles" registry (RFC 5764 §4.1.2, RFC 7714 §14.2). Only the profiles in
// AllowedProfiles can be constructed through this package's constructors.
type Profile uint16

// The three profiles the policy allows (DESIGN §4). AES-GCM is preferred (RFC 7714);
// AES_CM_128_HMAC_SHA1_80 stays because RFC 8827 §6.5 makes it mandatory to implement and
// Asterisk, FreeSWITCH, GStreamer and most SBCs offer nothing else over DTLS.
const (
	ProfileAES128CMHMACSHA1_80 Profile = 0x0001 // RFC 5764 §4.1.2
	ProfileAEADAES128GCM       Profile = 0x0007 // RFC 7714 §14.2
	ProfileAEADAES256GCM       Profile = 0x0008 // RFC 7714 §14.2
)

// ErrProfileNotAllowed is returned for SRTP profiles outside the policy: truncated _32 tags,
// NULL ciphers, AES-256-CM/F8/192-bit variants and unknown names or code points.
var ErrProfileNotAllowed = errors.New("crypto: SRTP profile not allowed by policy")

// allowedProfiles is the server preference order (DESIGN §4). It is copied out by
// AllowedProfiles so callers cannot reorder the policy.
var allowedProfiles = [...]Profile{ProfileAEADAES128GCM, ProfileAEADAES256GCM, ProfileAES128CMHMACSHA1_80}

// AllowedProfiles returns the allowed profiles in server preference order: AEAD_AES_128_GCM,
// AEAD_AES_256_GCM, AES_CM_128_HMAC_SHA1_80. A fresh slice is returned on every call.
func AllowedProfiles() []Profile {
	out := make([]Profile, len(allowedProfiles))
	copy(out, allowedProfiles[:])
	return out
}

// Allowed reports whether p is one of the policy's profiles.
func (p Profile) Allowed() bool {
	switch p {
	case ProfileAES128CMHMACSHA1_80, ProfileAEADAES128GCM, ProfileAEADAES256GCM:
		return true
	}
	return false
}

// String returns the rtpengine-style name (the SDES crypto-suite spelling of RFC 4568 §6.2
// and RFC 7714 §12), which is what the ng protocol and the audit log carry.
func (p Profile) String() string {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return "AES_CM_128_HMAC_SHA1_80"
	case ProfileAEADAES128GCM:
		return "AEAD_AES_128_GCM"
	case ProfileAEADAES256GCM:
		return "AEAD_AES_256_GCM"
	}
	return fmt.Sprintf("SRTP_PROFILE_0x%04X", uint16(p))
}

// DTLSName returns the DTLS-SRTP registry name (RFC 5764 §4.1.2, RFC 7714 §14.2), the
// spelling OpenSSL's -use_srtp and libsrtp use, or "" for profiles outside the policy.
func (p Profile) DTLSName() string {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return "SRTP_AES128_CM_HMAC_SHA1_80"
	case ProfileAEADAES128GCM:
		return "SRTP_AEAD_AES_128_GCM"
	case ProfileAEADAES256GCM:
		return "SRTP_AEAD_AES_256_GCM"
	}
	return ""
}

// KeyLen is the master key length in bytes (RFC 5764 §4.1.2, RFC 7714 §14.2), or 0 for a
// profile outside the policy.
func (p Profile) KeyLen() int {
	switch p {
	case ProfileAES128CMHMACSHA1_80, ProfileAEADAES128GCM:
		return 16
	case ProfileAEADAES256GCM:
		return 32
	}
	return 0
}

// SaltLen is the master salt length in bytes: 112 bits for AES-CM (RFC 3711 §8.2), 96 bits
// for AEAD (RFC 7714 §14.2). 0 for a profile outside the policy.
func (p Profile) SaltLen() int {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return 14
	case ProfileAEADAES128GCM, ProfileAEADAES256GCM:
		return 12
	}
	return 0
}

// Overhead is how many bytes an SRTP packet grows by over its RTP packet: the 80-bit
// HMAC-SHA1 tag (RFC 3711 §4.2) or the 16-octet GCM tag (RFC 7714 §8.2). No MKI is ever used.
func (p Profile) Overhead() int {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return 10
	case ProfileAEADAES128GCM, ProfileAEADAES256GCM:
		return 16
	}
	return 0
}

// RTCPOverhead is how many bytes an SRTCP packet grows by: the 4-octet E+SRTCP index word
// (RFC 3711 §3.4) plus the authentication tag, which for SRTCP is always 80 bits with
// HMAC-SHA1 and 16 octets with GCM (RFC 7714 §9.2).
func (p Profile) RTCPOverhead() int {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return 4 + 10
	case ProfileAEADAES128GCM, ProfileAEADAES256GCM:
		return 4 + 16
	}
	return 0
}

// ParseProfile maps a profile name onto an allowed Profile. It accepts the rtpengine/SDES
// spelling ("AEAD_AES_128_GCM") and the DTLS-SRTP registry spelling ("SRTP_AEAD_AES_128_GCM",
// "SRTP_AES128_CM_HMAC_SHA1_80"), case-insensitively. Truncated _32 tags, NULL ciphers and
// everything else are refused with an error wrapping ErrProfileNotAllowed that says why.
func ParseProfile(name string) (Profile, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch n {
	case "AES_CM_128_HMAC_SHA1_80", "SRTP_AES128_CM_HMAC_SHA1_80", "SRTP_AES128_CM_SHA1_80":
		return ProfileAES128CMHMACSHA1_80, nil
	case "AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM":
		return ProfileAEADAES128GCM, nil
	case "AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM":
		return ProfileAEADAES256GCM, nil
	}
	shown := safeQuote(name, 48)
	switch {
	case n == "":
		return 0, fmt.Errorf("%w: empty profile name", ErrProfileNotAllowed)
	case strings.Contains(n, "NULL"):
		return 0, fmt.Errorf("%w: %s uses a NULL cipher (no confidentiality)", ErrProfileNotAllowed, shown)
	case strings.HasSuffix(n, "_32"):
		return 0, fmt.Errorf("%w: %s has a truncated 32-bit auth tag", ErrProfileNotAllowed, shown)
	case strings.Contains(n, "_80") || strings.Contains(n, "GCM") || strings.Contains(n, "F8"):
		return 0, fmt.Errorf("%w: %s is not one of %s", ErrProfileNotAllowed, shown, allowedNames())
	}
	return 0, fmt.Errorf("%w: unknown SRTP profile %s", ErrProfileNotAllowed, shown)
}

func allowedNames() string {
	names := make([]string, 0, len(allowedProfiles))
	for _, p := range allowedProfiles {
		names = append(names, p.String())
	}
	return strings.Join(names, ", ")
}

// safeQuote quotes attacker-controlled text for an error message, bounded so a huge SDP
// attribute cannot blow up logs.
func safeQuote(s string, limit int) string {
	if len(s) > limit {
		return fmt.Sprintf("%q...", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}

// srtpProfile maps p onto pion's SRTP profile constant.
func (p Profile) srtpProfile() (srtp.ProtectionProfile, error) {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case ProfileAEADAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	case ProfileAEADAES256GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, nil
	}
	return 0, fmt.Errorf("%w: %s", ErrProfileNotAllowed, p)
}

// dtlsProfile maps p onto pion's use_srtp extension value (RFC 5764 §4.1.1).
func (p Profile) dtlsProfile() dtls.SRTPProtectionProfile {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return dtls.SRTP_AES128_CM_HMAC_SHA1_80
	case ProfileAEADAES128GCM:
		return dtls.SRTP_AEAD_AES_128_GCM
	case ProfileAEADAES256GCM:
		return dtls.SRTP_AEAD_AES_256_GCM
	}
	return 0
}

// AllowedCipherSuites returns the DTLS 1.2 cipher suites of the policy: ECDHE key exchange
// with AES-GCM only (SP 800-52r2 §3.3.1, RFC 8827 §6.5), ECDSA before RSA and 128 before 256
// within each. pion/dtls v3 implements all four, so none is missing from the list. CBC,
// ChaCha20-Poly1305, CCM and PSK suites are never offered or accepted.
//
// The ECDHE_RSA pair is there for peers whose certificate is RSA (some SBCs); our own
// certificate is ECDSA, so as DTLS server we always select an ECDSA suite.
func AllowedCipherSuites() []dtls.CipherSuiteID {
	return []dtls.CipherSuiteID{
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	}
}
