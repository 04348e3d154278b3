package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/udp"
)

// Interface is a named local address media binds on, as rtpengine's
// --interface=[NAME/]ADDR[!ADVERTISED]: the phone leg binds on the LAN one,
// the upstream leg on the WAN one, and the address written into SDP may
// differ from the bound one (NAT 1:1).
type Interface struct {
	Name       string
	Addr       netip.Addr
	Advertised netip.Addr
}

// DefaultInterfaceName is the name of an interface given without one.
const DefaultInterfaceName = "default"

// ParseInterface parses [NAME/]ADDR[!ADVERTISED].
func ParseInterface(s string) (Interface, error) {
	var ifc Interface
	rest := s
	if name, addr, ok := strings.Cut(s, "/"); ok {
		ifc.Name, rest = name, addr
	}
	if ifc.Name == "" {
		ifc.Name = DefaultInterfaceName
	}
	bind, adv, hasAdv := strings.Cut(rest, "!")
	a, err := netip.ParseAddr(bind)
	if err != nil {
		return ifc, fmt.Errorf("interface %q: %q is not an IP address", s, bind)
	}
	ifc.Addr, ifc.Advertised = a.Unmap(), a.Unmap()
	if hasAdv {
		b, err := netip.ParseAddr(adv)
		if err != nil {
			return ifc, fmt.Errorf("interface %q: advertised %q is not an IP address", s, adv)
		}
		ifc.Advertised = b.Unmap()
	}
	if ifc.Addr.IsUnspecified() {
		return ifc, fmt.Errorf("interface %q: bind a specific address, not %s: the phone and upstream legs must stay on their own networks", s, ifc.Addr)
	}
	return ifc, nil
}

func (i Interface) String() string {
	s := i.Name + "/" + i.Addr.String()
	if i.Advertised != i.Addr {
		s += "!" + i.Advertised.String()
	}
	return s
}

// CertSource hands out the certificate a new call uses; the call keeps it
// for its whole life, so rotation never changes a live call's certificate.
type CertSource interface {
	Current() *crypto.Certificate
}

// Config is the relay's configuration. The daemon fills it from flags.
type Config struct {
	// Interfaces are the media addresses; the first is used when a
	// request names none. With two or more, a request's direction picks.
	Interfaces []Interface
	PortMin    int
	PortMax    int
	// PortQuarantine is how long a released port pair rests before reuse.
	PortQuarantine time.Duration

	Timeout       time.Duration // no media at all: end the call
	SilentTimeout time.Duration // no media while on hold
	FinalTimeout  time.Duration // hard cap on call length; 0 = none
	DeleteDelay   time.Duration // keep a deleted call this long (rtpengine default 30 s)
	MaxSessions   int           // 0 = unlimited

	// PhoneNetworks bounds where plain RTP may go: a phone leg's media
	// address must be inside one of them (security requirement A8). The
	// default is the private, loopback and link-local ranges, so an offer
	// can never send unencrypted audio to a public address.
	PhoneNetworks []netip.Prefix
	// UpstreamNetworks bounds the DTLS-SRTP leg's media addresses
	// (signalled, latched or ICE-nominated); empty allows any.
	UpstreamNetworks []netip.Prefix

	// LearnWindow lets the phone leg latch a changed source port from the
	// signalled host during the first seconds after the answer; 0 keeps
	// the phone leg strictly on the signalled address:port.
	LearnWindow time.Duration

	ReplayWindow     uint          // SRTP/SRTCP replay window, >= 64 (RFC 3711 §3.3.2)
	HandshakeTimeout time.Duration // DTLS bound (about 10 s, DESIGN §4)
	Handshakes       *crypto.HandshakeLimiter

	Certs   CertSource
	Events  EventSink
	Logger  *slog.Logger
	Network udp.Network
	Now     func() time.Time
}

// DefaultConfig returns the laptop-safe defaults: loopback media, the
// timeouts rtpengine ships with.
func DefaultConfig() Config {
	return Config{
		Interfaces:       []Interface{{Name: DefaultInterfaceName, Addr: netip.MustParseAddr("127.0.0.1"), Advertised: netip.MustParseAddr("127.0.0.1")}},
		PortMin:          30000,
		PortMax:          39999,
		PortQuarantine:   10 * time.Second,
		Timeout:          60 * time.Second,
		SilentTimeout:    3600 * time.Second,
		FinalTimeout:     0,
		DeleteDelay:      30 * time.Second,
		ReplayWindow:     128,
		HandshakeTimeout: 10 * time.Second,
		PhoneNetworks:    PrivateNetworks(),
	}
}

// PrivateNetworks are the address ranges that do not route on the public
// internet: RFC 1918, RFC 6598 shared space, loopback, link-local, and the
// IPv6 unique-local (RFC 4193), loopback and link-local ranges.
func PrivateNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "::1/128", "fe80::/10"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// allowed reports whether a is inside one of nets (empty: any address).
func allowed(nets []netip.Prefix, a netip.Addr) bool {
	if len(nets) == 0 {
		return true
	}
	a = a.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Validate checks the relay settings and says how to fix what is wrong.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Interfaces) == 0 {
		errs = append(errs, errors.New("no media interface: give --interface ADDR"))
	}
	seen := map[string]bool{}
	for _, i := range c.Interfaces {
		if seen[i.Name] {
			errs = append(errs, fmt.Errorf("interface name %q given twice", i.Name))
		}
		seen[i.Name] = true
	}
	if c.PortMin < 1024 || c.PortMax > 65535 || c.PortMin > c.PortMax {
		errs = append(errs, fmt.Errorf("port range %d-%d: want 1024 <= --port-min <= --port-max <= 65535", c.PortMin, c.PortMax))
	} else if c.PortMax-c.PortMin+1 < 4 {
		errs = append(errs, fmt.Errorf("port range %d-%d is too small: a call needs 4 ports (two RTP/RTCP pairs); widen --port-min/--port-max", c.PortMin, c.PortMax))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("--timeout must be positive"))
	}
	if c.SilentTimeout < 0 || c.FinalTimeout < 0 || c.DeleteDelay < 0 || c.LearnWindow < 0 {
		errs = append(errs, errors.New("--silent-timeout, --final-timeout, --delete-delay and the learn window must not be negative"))
	}
	if c.ReplayWindow < 64 {
		errs = append(errs, fmt.Errorf("replay window %d: RFC 3711 §3.3.2 requires at least 64", c.ReplayWindow))
	}
	if c.HandshakeTimeout <= 0 {
		errs = append(errs, errors.New("DTLS handshake timeout must be positive"))
	}
	if c.MaxSessions < 0 {
		errs = append(errs, errors.New("--max-sessions must not be negative"))
	}
	return errors.Join(errs...)
}

func (c *Config) iface(name string) (*Interface, error) {
	if name == "" {
		return &c.Interfaces[0], nil
	}
	for i := range c.Interfaces {
		if c.Interfaces[i].Name == name {
			return &c.Interfaces[i], nil
		}
	}
	return nil, fmt.Errorf("%w: unknown interface %q", ErrBadRequest, name)
}
