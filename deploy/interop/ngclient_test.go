package interop

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeRelay answers each ng datagram with a stale reply and then with
// reply(body) under the request's cookie; it ignores the first drop
// datagrams, to exercise the resend.
func fakeRelay(t *testing.T, drop int, reply func(body []byte) string) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	serveFake(t, c, drop, reply)
	return c.LocalAddr().String()
}

func serveFake(t *testing.T, c *net.UDPConn, drop int, reply func(body []byte) string) {
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for seen := 0; ; seen++ {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if seen < drop {
				continue
			}
			cookie, body, err := SplitNG(buf[:n])
			if err != nil {
				continue
			}
			_, _ = c.WriteToUDP([]byte("stale d6:result4:ponge"), from)
			_, _ = c.WriteToUDP([]byte(cookie+" "+reply(body)), from)
		}
	}()
}

func TestNGClient(t *testing.T) {
	tests := []struct {
		name       string
		drop       int
		reply      string
		wantErr    bool
		wantReason string
	}{
		{name: "pong", reply: "d6:result4:ponge"},
		{name: "resend after a lost datagram", drop: 1, reply: "d6:result2:oke"},
		{name: "error reply", reply: "d6:result5:error12:error-reason15:Unknown call-ide", wantErr: true, wantReason: "Unknown call-id"},
		{name: "undecodable reply", reply: "d6:result", wantErr: true},
		{name: "reply not a dictionary", reply: "l2:oke", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := make(chan string, 8)
			addr := fakeRelay(t, tt.drop, func(body []byte) string {
				v, _ := Decode(body)
				cmds <- string(v.Get("command").Str)
				return tt.reply
			})
			c, err := DialNG(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Resend = 100 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = c.Command(ctx, NewDict("command", "ping"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v\n%s", err, tt.wantErr, c.Log())
			}
			var ne *NGError
			if tt.wantReason != "" && (!errors.As(err, &ne) || ne.Reason != tt.wantReason) {
				t.Errorf("err = %v, want reason %q", err, tt.wantReason)
			}
			if got := <-cmds; got != "ping" {
				t.Errorf("relay saw command %q", got)
			}
			if !strings.Contains(c.Log(), ">> ") || !strings.Contains(c.Log(), "<< ") {
				t.Errorf("transcript lacks request or reply:\n%s", c.Log())
			}
		})
	}
}

func TestNGClientTimeout(t *testing.T) {
	addr := fakeRelay(t, 1000, func([]byte) string { return "" })
	c, err := DialNG(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Resend = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Command(ctx, NewDict("command", "ping")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

// TestNGClientRelayBindsLate: the ICMP port unreachable a starting relay
// causes does not end the command; the resend finds the relay once bound.
func TestNGClientRelayBindsLate(t *testing.T) {
	port, err := FreeUDPPort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	c, err := DialNG(addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Resend = 50 * time.Millisecond
	bound := make(chan error, 1)
	time.AfterFunc(200*time.Millisecond, func() {
		l, err := net.ListenUDP("udp4", addr)
		if err == nil {
			serveFake(t, l, 0, func([]byte) string { return "d6:result4:ponge" })
		}
		bound <- err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Command(ctx, NewDict("command", "ping"))
	if berr := <-bound; berr != nil {
		t.Fatalf("fake relay could not bind %v: %v", addr, berr)
	}
	if err != nil {
		t.Fatalf("ping to a relay that binds late: %v\n%s", err, c.Log())
	}
}
