package crypto

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/elliptic"
	"github.com/pion/logging"
)

// policyCurves are the ECDHE groups offered and accepted: P-256 (RFC 8827 §6.5 MTI) and
// P-384 (SP 800-52r2 §3.3.1, security requirement T1). pion's default also offers X25519;
// it is left out so the deployment's FIPS story stays simple.
var policyCurves = []elliptic.Curve{elliptic.P256, elliptic.P384}

// dtlsOptions builds pion options that enforce DESIGN §4 for one handshake. verify is
// called with the peer's certificate chain inside the handshake.
//
// What is set, and why:
//   - cipher suites: exactly AllowedCipherSuites (ECDHE + AES-GCM); pion negotiates nothing else.
//   - SRTP profiles: the given subset of AllowedProfiles in preference order. As DTLS server
//     pion picks the first of OUR list the client also offers (RFC 5764 §4.1.1 lets the server
//     choose), which is how GCM128 wins over CM80.
//   - ExtendedMasterSecret: required (RFC 7627, T9); pion's default only requests it.
//   - InsecureSkipVerify: the chain is self-signed, so X.509 path validation is meaningless;
//     the identity check is the SDP fingerprint in verify (RFC 5763 §5, RFC 8122 §5).
//   - ClientAuth RequireAnyClientCert on the server: the client MUST present a certificate
//     (RFC 5763 §5) so its fingerprint can be checked; verify runs on it.
//   - InsecureSkipVerifyHello is left false: HelloVerifyRequest cookies stay on (A4).
//   - No SessionStore (no resumption), no PSK, no KeyLogWriter, no connection IDs.
func dtlsOptions(role Role, cert *Certificate, profiles []Profile,
	verify func([][]byte, [][]*x509.Certificate) error, logger *slog.Logger,
) (client []dtls.ClientOption, server []dtls.ServerOption, err error) {
	dp := make([]dtls.SRTPProtectionProfile, 0, len(profiles))
	for _, p := range profiles {
		if !p.Allowed() {
			return nil, nil, fmt.Errorf("%w: %s", ErrProfileNotAllowed, p)
		}
		dp = append(dp, p.dtlsProfile())
	}
	shared := []dtls.Option{
		dtls.WithCertificates(cert.TLSCertificate()),
		dtls.WithCipherSuites(AllowedCipherSuites()...),
		dtls.WithSRTPProtectionProfiles(dp...),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(verify),
		dtls.WithEllipticCurves(policyCurves...),
		dtls.WithLoggerFactory(pionLoggerFactory{logger}),
	}
	if role == RoleClient {
		for _, o := range shared {
			client = append(client, o)
		}
		return client, nil, nil
	}
	for _, o := range shared {
		server = append(server, o)
	}
	server = append(server,
		dtls.WithClientAuth(dtls.RequireAnyClientCert),
		dtls.WithInsecureSkipVerifyHello(false),
	)
	return nil, server, nil
}

// pionLoggerFactory routes pion's internal logging into slog at Debug (pion's Error/Warn
// lines are per-handshake failure details that Handshake already returns as an error).
// Trace is dropped: it is per-record chatter. pion does not log key material at any level,
// and KeyLogWriter is never set. A nil logger discards everything.
type pionLoggerFactory struct{ l *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{l: f.l, scope: scope}
}

type pionLogger struct {
	l     *slog.Logger
	scope string
}

func (p pionLogger) log(level slog.Level, msg string) {
	if p.l != nil {
		p.l.Log(context.Background(), level, msg, "pion", p.scope)
	}
}

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	if p.l != nil && p.l.Enabled(context.Background(), level) {
		p.log(level, fmt.Sprintf(format, args...))
	}
}

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (p pionLogger) Debug(m string)      { p.log(slog.LevelDebug, m) }
func (p pionLogger) Debugf(f string, a ...any) {
	p.logf(slog.LevelDebug, f, a...)
}
func (p pionLogger) Info(m string)             { p.log(slog.LevelDebug, m) }
func (p pionLogger) Infof(f string, a ...any)  { p.logf(slog.LevelDebug, f, a...) }
func (p pionLogger) Warn(m string)             { p.log(slog.LevelDebug, m) }
func (p pionLogger) Warnf(f string, a ...any)  { p.logf(slog.LevelDebug, f, a...) }
func (p pionLogger) Error(m string)            { p.log(slog.LevelDebug, m) }
func (p pionLogger) Errorf(f string, a ...any) { p.logf(slog.LevelDebug, f, a...) }
