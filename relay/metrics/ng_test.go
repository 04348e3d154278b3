package metrics

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// TestScrapeRealNGServer feeds a real ng server (over a real relay) the
// requests an attacker on the control network could send, the command
// name itself being a phone number or an address, and checks that the
// scrape counts them under fixed labels only.
func TestScrapeRealNGServer(t *testing.T) {
	r := newTestRelay(t)
	srv := ng.NewServer(r, ng.Config{})
	reg := NewRegistry(Sources{Relay: r, NG: srv}, BuildInfo{})

	client := netip.MustParseAddrPort("127.0.0.76:5060")
	outsider := netip.MustParseAddrPort("192.0.2.99:5060")
	ctx := context.Background()
	n := 0
	send := func(from netip.AddrPort, entries ...ng.Entry) []byte {
		n++
		msg := append([]byte("c"+strconv.Itoa(n)+" "), ng.Encode(ng.Dict(entries...))...)
		return srv.Handle(ctx, msg, from)
	}
	cmd := func(s string) ng.Entry { return ng.E("command", ng.String(s)) }

	if reply := send(client, cmd("ping")); !strings.Contains(string(reply), "pong") {
		t.Fatalf("ping reply %q", reply)
	}
	send(client, cmd(phoneNumber), ng.E("call-id", ng.String(callID)))
	send(client, cmd(addrPort))
	send(client, cmd("delete"), ng.E("call-id", ng.String(callID)), ng.E("from-tag", ng.String(sipTag)))
	send(client, cmd("start recording"), ng.E("call-id", ng.String(callID)))
	send(outsider, cmd("ping"))

	fams := gather(t, reg)
	cases := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"srtpgw_ng_requests_total", labels("command", "ping", "result", ng.ResultPong), 1},
		{"srtpgw_ng_requests_total", labels("command", "unknown", "result", ng.ResultError), 2},
		// Kamailio deletes unknown calls all the time: ok with a warning.
		{"srtpgw_ng_requests_total", labels("command", "delete", "result", ng.ResultOK), 1},
		{"srtpgw_ng_requests_total", labels("command", "start recording", "result", ng.ResultRefused), 1},
		{"srtpgw_ng_dropped_total", labels("reason", ng.DropNotAllowed), 1},
		{"srtpgw_ng_request_duration_seconds", labels("command", "ping"), 1},
		{"srtpgw_ng_request_duration_seconds", labels("command", "unknown"), 2},
	}
	for _, tc := range cases {
		if got, ok := value(fams, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	// Every command and result the real server reports is one the
	// collector knows; nothing folded into an extra "unknown" result.
	for k := range srv.Stats().Requests {
		if _, ok := ngCommands.index[k.Command]; !ok {
			t.Errorf("ng reports command %q outside ng.Commands()", k.Command)
		}
		if _, ok := ngResults.index[k.Result]; !ok {
			t.Errorf("ng reports result %q outside ng.Results()", k.Result)
		}
	}
	checkLabels(t, fams)
}
