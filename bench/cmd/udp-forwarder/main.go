// Command udp-forwarder is the benchmark's bare baseline: a plain UDP
// forwarder with a relay's socket layout and no crypto, driven over ng.
//
//	udp-forwarder -listen-ng 127.0.0.1:2243 -interface lan/127.0.0.2 -interface wan/127.0.0.3 -port-min 50000 -port-max 59999
//
// Drive it with `srtpgw-load -plain-upstream`. With -poller -static-srtp it
// is the keyed forwarder: the same, plus pion's SRTP transform on the
// upstream leg (drive it with `srtpgw-load -plain-upstream -static-srtp`).
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/srtpgw/srtpgw/bench/forwarder"
	"github.com/srtpgw/srtpgw/bench/statickeys"
	"github.com/srtpgw/srtpgw/relay/udp"
)

type ifaces []forwarder.Interface

func (f *ifaces) String() string { return fmt.Sprint(*f) }

// Set parses rtpengine's `[NAME/]IP` form.
func (f *ifaces) Set(v string) error {
	name, ip, ok := strings.Cut(v, "/")
	if !ok {
		name, ip = "default", v
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return err
	}
	*f = append(*f, forwarder.Interface{Name: name, Addr: a})
	return nil
}

func main() {
	var cfg forwarder.Config
	var ifs ifaces
	flag.StringVar(&cfg.ListenNG, "listen-ng", "127.0.0.1:2243", "ng control `ADDR:PORT` (UDP)")
	flag.Var(&ifs, "interface", "media interface `[NAME/]IP` (repeatable; the first is the default)")
	flag.IntVar(&cfg.PortMin, "port-min", 50000, "lowest media port")
	flag.IntVar(&cfg.PortMax, "port-max", 59999, "highest media port")
	pidfile := flag.String("pidfile", "", "write the PID to this `FILE`")
	poller := flag.Bool("poller", false, "read media sockets with srtpgw's batched poller (epoll, recvmmsg, sendmmsg) instead of a goroutine per socket")
	static := flag.String("static-srtp", "", "keyed forwarder (needs -poller): `PROFILE` cm80 or gcm; RTP to the answerer is SRTP-protected and RTP from it decrypted, keys from the call-id (bench/statickeys, never for real calls); drive it with `srtpgw-load -plain-upstream -static-srtp [-gcm]`")
	flag.Parse()
	switch *static {
	case "":
	case "cm80":
		cfg.StaticSRTP = statickeys.Profile(false)
	case "gcm":
		cfg.StaticSRTP = statickeys.Profile(true)
	default:
		fmt.Fprintf(os.Stderr, "udp-forwarder: -static-srtp %q: want cm80 or gcm\n", *static)
		os.Exit(2)
	}
	if *poller {
		p, err := udp.NewPoller(0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "udp-forwarder:", err)
			os.Exit(1)
		}
		cfg.Poller = p
	}
	if len(ifs) == 0 {
		ifs = ifaces{{Name: "default", Addr: netip.MustParseAddr("127.0.0.1")}}
	}
	cfg.Interfaces = ifs
	s, err := forwarder.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udp-forwarder:", err)
		os.Exit(1)
	}
	if *pidfile != "" {
		if err := os.WriteFile(*pidfile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "udp-forwarder:", err)
			os.Exit(1)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		s.Close()
	}()
	fmt.Fprintf(os.Stderr, "udp-forwarder: ng on %s, interfaces %v, ports %d-%d\n", s.Addr(), ifs, cfg.PortMin, cfg.PortMax)
	if err := s.Serve(); err != nil {
		fmt.Fprintln(os.Stderr, "udp-forwarder:", err)
		os.Exit(1)
	}
	st := s.Stats()
	fmt.Fprintf(os.Stderr, "udp-forwarder: forwarded %d, dropped %d, send errors %d\n",
		st.Forwarded.Load(), st.Dropped.Load(), st.SendErrors.Load())
}
