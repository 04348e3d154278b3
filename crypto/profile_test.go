package crypto

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
)

func TestProfileProperties(t *testing.T) {
	tests := []struct {
		p                            Profile
		name, dtlsName               string
		key, salt, overhead, rtcpOvh int
		pionProfile                  srtp.ProtectionProfile
	}{
		{ProfileAES128CMHMACSHA1_80, "AES_CM_128_HMAC_SHA1_80", "SRTP_AES128_CM_HMAC_SHA1_80", 16, 14, 10, 14, srtp.ProtectionProfileAes128CmHmacSha1_80},
		{ProfileAEADAES128GCM, "AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM", 16, 12, 16, 20, srtp.ProtectionProfileAeadAes128Gcm},
		{ProfileAEADAES256GCM, "AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM", 32, 12, 16, 20, srtp.ProtectionProfileAeadAes256Gcm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.String(); got != tc.name {
				t.Errorf("String = %q", got)
			}
			if got := tc.p.DTLSName(); got != tc.dtlsName {
				t.Errorf("DTLSName = %q", got)
			}
			if tc.p.KeyLen() != tc.key || tc.p.SaltLen() != tc.salt || tc.p.Overhead() != tc.overhead || tc.p.RTCPOverhead() != tc.rtcpOvh {
				t.Errorf("lengths key=%d salt=%d ovh=%d rtcp=%d", tc.p.KeyLen(), tc.p.SaltLen(), tc.p.Overhead(), tc.p.RTCPOverhead())
			}
			// Cross-check against pion's own tables so the two can never drift apart.
			kl, _ := tc.pionProfile.KeyLen()
			sl, _ := tc.pionProfile.SaltLen()
			at, _ := tc.pionProfile.AuthTagRTPLen()
			aead, _ := tc.pionProfile.AEADAuthTagLen()
			if kl != tc.key || sl != tc.salt || at+aead != tc.overhead {
				t.Errorf("pion disagrees: key=%d salt=%d tag=%d", kl, sl, at+aead)
			}
			if pp, err := tc.p.srtpProfile(); err != nil || pp != tc.pionProfile {
				t.Errorf("srtpProfile = %v, %v", pp, err)
			}
			if uint16(tc.p.dtlsProfile()) != uint16(tc.p) {
				t.Errorf("dtlsProfile code point %#x", tc.p.dtlsProfile())
			}
			if !tc.p.Allowed() {
				t.Error("not Allowed")
			}
			for _, name := range []string{tc.name, tc.dtlsName, strings.ToLower(tc.name), " " + tc.name + " "} {
				if p, err := ParseProfile(name); err != nil || p != tc.p {
					t.Errorf("ParseProfile(%q) = %v, %v", name, p, err)
				}
			}
		})
	}
}

func TestProfileOutsidePolicy(t *testing.T) {
	for _, p := range []Profile{0, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0009, 0xffff} {
		if p.Allowed() || p.KeyLen() != 0 || p.SaltLen() != 0 || p.Overhead() != 0 || p.DTLSName() != "" {
			t.Errorf("%#x treated as allowed", uint16(p))
		}
		if _, err := p.srtpProfile(); !errors.Is(err, ErrProfileNotAllowed) {
			t.Errorf("%#x srtpProfile err = %v", uint16(p), err)
		}
		if !strings.Contains(p.String(), "0x") {
			t.Errorf("String of unknown profile = %q", p.String())
		}
	}
}

func TestAllowedProfilesOrder(t *testing.T) {
	want := []Profile{ProfileAEADAES128GCM, ProfileAEADAES256GCM, ProfileAES128CMHMACSHA1_80}
	got := AllowedProfiles()
	if !slices.Equal(got, want) {
		t.Fatalf("AllowedProfiles = %v, want %v", got, want)
	}
	got[0] = 0x0005 // callers cannot edit the policy through the returned slice
	if AllowedProfiles()[0] != ProfileAEADAES128GCM {
		t.Fatal("AllowedProfiles returned shared storage")
	}
}

func TestParseProfileRefusals(t *testing.T) {
	tests := []struct {
		name string
		why  string // fragment the error must contain
	}{
		{"AES_CM_128_HMAC_SHA1_32", "32-bit"},
		{"SRTP_AES128_CM_HMAC_SHA1_32", "32-bit"},
		{"NULL_HMAC_SHA1_80", "NULL"},
		{"SRTP_NULL_HMAC_SHA1_32", "NULL"},
		{"AES_256_CM_HMAC_SHA1_80", "not one of"},
		{"AES_192_CM_HMAC_SHA1_80", "not one of"},
		{"F8_128_HMAC_SHA1_80", "not one of"},
		{"AEAD_AES_192_GCM", "not one of"},
		{"", "empty"},
		{"ROT13", "unknown"},
		{strings.Repeat("X", 5000), "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name[:min(len(tc.name), 30)], func(t *testing.T) {
			_, err := ParseProfile(tc.name)
			if !errors.Is(err, ErrProfileNotAllowed) {
				t.Fatalf("err = %v, want ErrProfileNotAllowed", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("error %q does not say %q", err, tc.why)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("error message unbounded: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestAllowedCipherSuites(t *testing.T) {
	want := map[dtls.CipherSuiteID]string{
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
		dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	}
	got := AllowedCipherSuites()
	if len(got) != len(want) {
		t.Fatalf("%d suites, want %d", len(got), len(want))
	}
	for _, id := range got {
		name := dtls.CipherSuiteName(id)
		if want[id] != name {
			t.Errorf("unexpected suite %s", name)
		}
		// pion must implement every suite we list (else it would be silently dropped).
		if strings.HasPrefix(name, "0x") {
			t.Errorf("pion does not implement %#x", uint16(id))
		}
		for _, bad := range []string{"CBC", "CHACHA", "CCM", "PSK"} {
			if strings.Contains(name, bad) {
				t.Errorf("policy lists a %s suite: %s", bad, name)
			}
		}
	}
}
