package interop

// Free loopback ports for the programs a harness starts. A port found this
// way is free only until someone else binds it; the harnesses keep their
// fixed media ranges below the ephemeral range (Linux default 32768-60999)
// so a port from here never falls inside them.

import (
	"fmt"
	"net"
)

// FreeUDPPort returns a currently unused UDP port on ip.
func FreeUDPPort(ip string) (int, error) {
	addr := net.ParseIP(ip)
	if addr == nil {
		// A nil IP would bind the wildcard address instead.
		return 0, fmt.Errorf("free UDP port: %q is not an IP address", ip)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: addr})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// FreeTCPPort returns a currently unused TCP port on ip.
func FreeTCPPort(ip string) (int, error) {
	l, err := net.Listen("tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
