// Package crypto is srtpgw's single crypto package: SRTP sessions, the DTLS-SRTP handshake,
// certificates, fingerprints and the crypto policy (DESIGN §4), built over pion/dtls/v3 and
// pion/srtp/v3. It is flat on purpose: sub-packages named srtp or dtls would collide with
// pion's packages.
//
// Policy lives in code, not configuration: the allowed SRTP profiles (AllowedProfiles), DTLS
// cipher suites (AllowedCipherSuites), ECDHE groups and fingerprint hashes are fixed here,
// and no option loosens them.
//
// How the relay uses it, per call leg:
//
//	cert := store.Current()                          // at offer time; kept for the call
//	answer, role, err := crypto.AnswerSetup(offerSetup) // or OffererRole(answerSetup)
//	fps, err := crypto.ParseFingerprints(sdpFingerprints)
//	ep, err := crypto.NewEndpoint(crypto.EndpointConfig{Role: role, Certificate: cert,
//		PeerFingerprints: fps, Peer: peer, Send: send, Limiter: lim})
//	// read loop: first byte 20..63 -> ep.Feed(pkt, from)          (never blocks)
//	// own goroutine:
//	res, err := ep.Handshake(ctx)                     // errors.Is(err, ErrFingerprintMismatch) ...
//	sess, err := crypto.NewSession(res.Keys, 0)
//	res.Keys.Wipe()
//	// hot path: sess.EncryptRTP(buf[:0], pkt) / DecryptRTP ... (0 allocs, sentinel errors)
//	// <-ep.Done() signals peer close_notify; ep.Close() at call end.
//
// Concurrency: a Session's four directions may each run on their own goroutine, one
// goroutine per direction. Endpoint methods are safe from any goroutine. CertStore and
// HandshakeLimiter are safe for concurrent use.
//
// Secrets: SessionKeys and Certificate print redacted under every fmt verb; no error,
// log line or panic built here contains key bytes; pion's KeyLogWriter is never set.
package crypto
