package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/srtpgw/srtpgw/relay"
)

// Config is the daemon's whole configuration: flags first, SRTPGW_* env
// vars as fallback. Flag names follow rtpengine where the concept is the
// same, so a deployment can swap one for the other (DESIGN §8).
type Config struct {
	Interfaces  []relay.Interface
	ListenNG    string
	ListenTCPNG string
	NGAllow     []netip.Prefix
	ListenHTTP  string
	// PhoneNetworks and UpstreamNetworks bound the media addresses of
	// each kind of leg (see relay.Config).
	PhoneNetworks    []netip.Prefix
	UpstreamNetworks []netip.Prefix
	// HTTPTokenFile holds a bearer token /metrics requires; mandatory when
	// --listen-http is not loopback.
	HTTPTokenFile string

	PortMin, PortMax int
	Timeout          time.Duration
	SilentTimeout    time.Duration
	FinalTimeout     time.Duration
	DeleteDelay      time.Duration
	MaxSessions      int
	LearnWindow      time.Duration
	ShutdownGrace    time.Duration

	AuditLog         string
	AuditKey         string
	AuditRedact      bool
	AuditRedactKey   string
	AuditCheckpoint  time.Duration
	AuditRotateBytes int64

	CertValidity time.Duration
	CertRotate   time.Duration

	LogLevel  string
	LogFormat string
}

// DefaultConfig is safe and runs on a laptop: loopback everything, the
// call log on.
func DefaultConfig() Config {
	rc := relay.DefaultConfig()
	return Config{
		Interfaces:       rc.Interfaces,
		PhoneNetworks:    rc.PhoneNetworks,
		ListenNG:         "127.0.0.1:2223",
		ListenHTTP:       "127.0.0.1:9323",
		PortMin:          rc.PortMin,
		PortMax:          rc.PortMax,
		Timeout:          rc.Timeout,
		SilentTimeout:    rc.SilentTimeout,
		FinalTimeout:     rc.FinalTimeout,
		DeleteDelay:      rc.DeleteDelay,
		AuditLog:         defaultAuditPath(),
		AuditCheckpoint:  5 * time.Minute,
		AuditRotateBytes: 64 << 20,
		CertValidity:     30 * 24 * time.Hour,
		CertRotate:       7 * 24 * time.Hour,
		LogLevel:         "info",
		LogFormat:        "text",
	}
}

// defaultAuditPath: systemd's StateDirectory= when set, /var/lib/srtpgw for
// root, else the user's state directory (XDG), so the call log is on by
// default wherever srtpgw runs.
func defaultAuditPath() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		return filepath.Join(strings.Split(d, ":")[0], "audit.jsonl")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/srtpgw/audit.jsonl"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "srtpgw", "audit.jsonl")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "srtpgw", "audit.jsonl")
	}
	return "srtpgw-audit.jsonl"
}

// bindFlags registers every flag on fs, writing into c.
func (c *Config) bindFlags(fs *flag.FlagSet) {
	fs.Var(&ifaceList{&c.Interfaces, false}, "interface", "media interface `[NAME/]ADDR[!ADVERTISED]` (repeatable; the first is the default, as in rtpengine)")
	fs.StringVar(&c.ListenNG, "listen-ng", c.ListenNG, "ng control `ADDR:PORT` (UDP)")
	fs.StringVar(&c.ListenTCPNG, "listen-tcp-ng", c.ListenTCPNG, "ng control over TCP `ADDR:PORT` (empty = off)")
	fs.Var(&prefixList{v: &c.NGAllow}, "ng-allow", "ng clients allowed, `CIDR[,CIDR...]`; required for a non-loopback ng listener")
	fs.Var(&prefixList{v: &c.PhoneNetworks, replace: true}, "phone-networks", "`CIDR[,CIDR...]` the phone leg's media may go to, unencrypted (the default is the private, loopback and link-local ranges)")
	fs.Var(&prefixList{v: &c.UpstreamNetworks}, "upstream-networks", "`CIDR[,CIDR...]` the DTLS-SRTP leg's media may go to (default: any)")
	fs.StringVar(&c.ListenHTTP, "listen-http", c.ListenHTTP, "HTTP for /metrics, /healthz, /readyz `ADDR:PORT` (empty = off)")
	fs.StringVar(&c.HTTPTokenFile, "http-token-file", c.HTTPTokenFile, "`FILE` with a bearer token /metrics requires; required for a non-loopback HTTP listener")
	fs.IntVar(&c.PortMin, "port-min", c.PortMin, "lowest media `PORT`")
	fs.IntVar(&c.PortMax, "port-max", c.PortMax, "highest media `PORT`")
	fs.Var((*seconds)(&c.Timeout), "timeout", "end a call after this long without media (`DURATION`: seconds, or a Go duration like 90s)")
	fs.Var((*seconds)(&c.SilentTimeout), "silent-timeout", "end a call on hold after this long without media (`DURATION`)")
	fs.Var((*seconds)(&c.FinalTimeout), "final-timeout", "end any call after this long (`DURATION`, 0 = never)")
	fs.Var((*seconds)(&c.DeleteDelay), "delete-delay", "keep a deleted call this long before freeing it (`DURATION`, rtpengine default 30)")
	fs.IntVar(&c.MaxSessions, "max-sessions", c.MaxSessions, "concurrent call `LIMIT` (0 or -1 = none); past it offers get \"Parallel session limit reached\" or \"load limit\", so the proxy fails over")
	fs.Var((*seconds)(&c.LearnWindow), "learn-window", "let the phone leg latch a new source port from the signalled host for this long after answer (`DURATION`, 0 = strict source)")
	fs.Var((*seconds)(&c.ShutdownGrace), "shutdown-grace", "on SIGTERM, refuse new calls (load limit) and let live ones end on their own for up to this long before ending them (`DURATION`, 0 = end at once)")
	fs.StringVar(&c.AuditLog, "audit-log", c.AuditLog, "call log `PATH` (JSON Lines, hash-chained, signed checkpoints)")
	fs.StringVar(&c.AuditKey, "audit-key", c.AuditKey, "Ed25519 signing key `FILE` (created 0600 if missing; default: next to the log)")
	fs.BoolVar(&c.AuditRedact, "audit-redact", c.AuditRedact, "replace call-ids and tags in the call log with keyed hashes")
	fs.StringVar(&c.AuditRedactKey, "audit-redact-key", c.AuditRedactKey, "HMAC key `FILE` for --audit-redact (created 0600 if missing; default: next to the log)")
	fs.Var((*seconds)(&c.AuditCheckpoint), "audit-checkpoint", "interval between signed checkpoints in the call log (`DURATION`)")
	fs.Int64Var(&c.AuditRotateBytes, "audit-rotate-bytes", c.AuditRotateBytes, "rotate the call log at this size in `BYTES`")
	fs.Var((*seconds)(&c.CertValidity), "cert-validity", "lifetime of the generated DTLS certificate (`DURATION`)")
	fs.Var((*seconds)(&c.CertRotate), "cert-rotate", "new calls get a fresh DTLS certificate this often; live calls keep theirs (`DURATION`)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "`LEVEL`: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "`FORMAT`: text or json")
}

// applyEnv sets every flag not given on the command line from its SRTPGW_*
// variable: --port-min reads SRTPGW_PORT_MIN.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		v := getenv(envName(f.Name))
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
		}
	})
	return errors.Join(errs...)
}

func envName(flagName string) string {
	return "SRTPGW_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Validate refuses unsafe or unworkable settings, each with how to fix it.
func (c *Config) Validate() error {
	var errs []error
	rc := c.relayConfig()
	if err := rc.Validate(); err != nil {
		errs = append(errs, err)
	}
	ng, err := listenAddr("--listen-ng", c.ListenNG, true)
	errs = append(errs, err)
	if err == nil && !ng.Addr().IsLoopback() && len(c.NGAllow) == 0 {
		errs = append(errs, fmt.Errorf("--listen-ng %s is not loopback and ng has no authentication: give --ng-allow with the CIDRs of your SIP proxies", c.ListenNG))
	}
	if c.ListenTCPNG != "" {
		tcp, err := listenAddr("--listen-tcp-ng", c.ListenTCPNG, true)
		errs = append(errs, err)
		if err == nil && !tcp.Addr().IsLoopback() && len(c.NGAllow) == 0 {
			errs = append(errs, fmt.Errorf("--listen-tcp-ng %s is not loopback: give --ng-allow with the CIDRs of your SIP proxies", c.ListenTCPNG))
		}
	}
	if c.ListenHTTP != "" {
		h, err := listenAddr("--listen-http", c.ListenHTTP, false)
		errs = append(errs, err)
		if err == nil && !h.Addr().IsLoopback() && c.HTTPTokenFile == "" {
			errs = append(errs, fmt.Errorf("--listen-http %s is not loopback: give --http-token-file so /metrics needs a bearer token, or bind 127.0.0.1", c.ListenHTTP))
		}
		if err == nil {
			errs = append(errs, c.checkOverlap("--listen-http", h))
		}
	}
	if ng.IsValid() {
		errs = append(errs, c.checkOverlap("--listen-ng", ng))
	}
	if c.AuditLog == "" {
		errs = append(errs, errors.New("--audit-log is empty: the call log cannot be switched off; give a path"))
	}
	if c.CertRotate <= 0 || c.CertValidity <= 2*c.CertRotate {
		errs = append(errs, fmt.Errorf("--cert-validity %s must exceed twice --cert-rotate %s, so no live call outlives its certificate", c.CertValidity, c.CertRotate))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// checkOverlap refuses a control listener inside the media port range on a
// media address: the port pool would try to bind it for calls.
func (c *Config) checkOverlap(flagName string, ap netip.AddrPort) error {
	p := int(ap.Port())
	if p < c.PortMin || p > c.PortMax {
		return nil
	}
	for _, i := range c.Interfaces {
		if i.Addr == ap.Addr() || ap.Addr().IsUnspecified() {
			return fmt.Errorf("%s port %d lies inside the media range %d-%d on %s: move it or narrow --port-min/--port-max", flagName, p, c.PortMin, c.PortMax, i.Addr)
		}
	}
	return nil
}

func listenAddr(flagName, s string, needPort bool) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s %q: want ADDR:PORT: %v", flagName, s, err)
	}
	if host == "" {
		return netip.AddrPort{}, fmt.Errorf("%s %q: give an address (127.0.0.1 for local use), not only a port", flagName, s)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s %q: %q is not an IP address", flagName, s, host)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return netip.AddrPort{}, fmt.Errorf("%s %q: bad port %q", flagName, s, port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}

// relayConfig extracts the relay's part.
func (c *Config) relayConfig() relay.Config {
	rc := relay.DefaultConfig()
	rc.Interfaces = c.Interfaces
	rc.PortMin, rc.PortMax = c.PortMin, c.PortMax
	rc.Timeout, rc.SilentTimeout, rc.FinalTimeout = c.Timeout, c.SilentTimeout, c.FinalTimeout
	rc.DeleteDelay = c.DeleteDelay
	rc.MaxSessions = max(c.MaxSessions, 0)
	rc.LearnWindow = c.LearnWindow
	rc.PhoneNetworks = c.PhoneNetworks
	rc.UpstreamNetworks = c.UpstreamNetworks
	return rc
}

// ifaceList is the repeatable --interface flag. The first use replaces the
// default; later uses append.
type ifaceList struct {
	v   *[]relay.Interface
	set bool
}

func (l *ifaceList) String() string {
	if l.v == nil {
		return ""
	}
	var s []string
	for _, i := range *l.v {
		s = append(s, i.String())
	}
	return strings.Join(s, ",")
}

func (l *ifaceList) Set(s string) error {
	if !l.set {
		*l.v, l.set = nil, true
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		i, err := relay.ParseInterface(part)
		if err != nil {
			return err
		}
		*l.v = append(*l.v, i)
	}
	return nil
}

// prefixList is a comma-separated, repeatable CIDR list flag. With
// replace, the first use replaces the default instead of adding to it.
type prefixList struct {
	v       *[]netip.Prefix
	replace bool
	set     bool
}

func (l *prefixList) String() string {
	if l.v == nil {
		return ""
	}
	var s []string
	for _, p := range *l.v {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(s string) error {
	if l.replace && !l.set {
		*l.v, l.set = nil, true
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return fmt.Errorf("%q is not a CIDR or an IP address", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		*l.v = append(*l.v, p.Masked())
	}
	return nil
}

// seconds is a duration flag that also takes a bare number of seconds, as
// rtpengine's --timeout=60 does.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return fmt.Errorf("%d is negative", n)
		}
		*s = seconds(time.Duration(n) * time.Second)
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want seconds or a duration like 90s: %v", err)
	}
	if d < 0 {
		return fmt.Errorf("%s is negative", d)
	}
	*s = seconds(d)
	return nil
}
