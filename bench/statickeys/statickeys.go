// Package statickeys derives SRTP master keys from a call-id, so that the
// benchmark's keyed forwarder (`udp-forwarder -static-srtp`) and the load
// tool (`srtpgw-load -static-srtp`) agree on keys without a handshake.
//
// It exists to measure one thing: what pion's SRTP transform costs on top
// of the bare forwarder, with the same socket strategy and the same load
// as srtpgw (bench/README.md). The keys are public by construction (anyone
// who knows the call-id has them). This is not key management, and
// nothing outside bench/ may import it; srtpgw keys every call with
// DTLS-SRTP (RFC 5764).
package statickeys

import (
	"crypto/sha256"
	"errors"

	"github.com/srtpgw/srtpgw/crypto"
)

// Material is one direction's master key and salt (RFC 3711 §8.2).
type Material struct {
	Key, Salt []byte
}

// Derive returns the material for packets the relay sends to the upstream
// (toUpstream) and for packets the upstream sends to the relay
// (fromUpstream), for profile p.
func Derive(callID string, p crypto.Profile) (toUpstream, fromUpstream Material, err error) {
	kl, sl := p.KeyLen(), p.SaltLen()
	if kl <= 0 || sl <= 0 || kl+sl > 2*sha256.Size {
		return Material{}, Material{}, errors.New("statickeys: unsupported profile " + p.String())
	}
	return derive(callID, "to-upstream", kl, sl), derive(callID, "from-upstream", kl, sl), nil
}

func derive(callID, dir string, kl, sl int) Material {
	var b []byte
	for i := byte(0); len(b) < kl+sl; i++ {
		h := sha256.Sum256(append([]byte("srtpgw-bench-static-srtp/"+dir+"/"+callID+"/"), i))
		b = append(b, h[:]...)
	}
	return Material{Key: b[:kl:kl], Salt: b[kl : kl+sl : kl+sl]}
}

// Profile maps the load tool's -gcm choice to the profile both sides use.
func Profile(gcm bool) crypto.Profile {
	if gcm {
		return crypto.ProfileAEADAES128GCM
	}
	return crypto.ProfileAES128CMHMACSHA1_80
}
