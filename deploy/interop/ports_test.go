package interop

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePorts(t *testing.T) {
	p, err := FreeUDPPort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Free means bindable right now.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
	if err != nil {
		t.Errorf("UDP port %d not free: %v", p, err)
	} else {
		c.Close()
	}
	p, err = FreeTCPPort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Errorf("TCP port %d not free: %v", p, err)
	} else {
		l.Close()
	}
	if _, err := FreeUDPPort("not-an-ip"); err == nil {
		t.Error("FreeUDPPort(not-an-ip) succeeded")
	}
}
