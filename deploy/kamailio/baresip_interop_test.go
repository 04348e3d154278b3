//go:build interop

package kamailio

// baresip 1.0.0 user agents for the interop harness: a generated config
// directory per agent, and a client for its ctrl_tcp module (netstring-framed
// JSON commands, plus events such as CALL_ESTABLISHED) to dial, hang up and
// watch the call.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

// uaConfig describes one baresip instance.
type uaConfig struct {
	name     string // "phone" or "upstream"
	ip       string // SIP and ctrl_tcp bind here
	sipPort  int    // 0: pick a free one
	user     string
	tone     float64 // Hz of the tone it sends
	mediaenc string  // "" for plain RTP, "dtls_srtp" for DTLS-SRTP
	rtcpMux  bool    // answer/offer rtcp-mux (RFC 5761)
	register string  // registrar host:port, "" for none
	manual   bool    // answermode=manual: ring until told otherwise
}

// ua is a running baresip with its ctrl_tcp connection.
type ua struct {
	cfg     uaConfig
	dir     string
	sipPort int
	proc    *interop.Proc
	ctl     *ctrlClient
}

// writeBaresipConfig creates dir/{config,accounts,tone.wav,dump/}.
//
// Modules: g711 (PCMU/PCMA), aufile (WAV tone as the microphone; 1.0.0 has
// no aufile player), sndfile (records the encoded and decoded audio of each
// call to dump/*-enc.wav and *-dec.wav), srtp + dtls_srtp (mediaenc), menu
// (the dial/hangup commands) and ctrl_tcp (remote control and events). No
// ice: the upstream is a SIP trunk, the relay is told ICE=remove.
func writeBaresipConfig(dir string, c uaConfig, sipPort, ctrlPort int) error {
	if err := os.MkdirAll(filepath.Join(dir, "dump"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tone.wav"), toneWAV(c.tone, 40), 0o644); err != nil {
		return err
	}
	mux := "no"
	if c.rtcpMux {
		mux = "yes"
	}
	// baresip binds RTP to the wildcard address (stream.c: "we listen on
	// all interfaces"), so on loopback its media leaves from 127.0.0.1
	// whatever its SDP says. Advertise 127.0.0.1 so that SDP and source
	// agree, like a real phone; a relay with strict source checks would
	// otherwise drop the media. net_interface accepts an IP in 1.0.0.
	rtpPorts := "10000-10499"
	if c.mediaenc != "" {
		rtpPorts = "10500-10999"
	}
	conf := strings.Join([]string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen %s:%d", c.ip, sipPort),
		"net_interface " + mediaIP,
		"call_local_timeout 20",
		"call_max_calls 1",
		"audio_source aufile," + filepath.Join(dir, "tone.wav"),
		// No sound card: the player and alert devices are the aufile
		// source name, which fails harmlessly; sndfile still records.
		"audio_player aufile,none",
		"audio_alert aufile,none",
		"ausrc_srate 8000",
		"ausrc_channels 1",
		"rtp_ports " + rtpPorts,
		"rtcp_mux " + mux,
		"jitter_buffer_delay 1-10",
		"rtp_stats yes",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module aufile.so",
		"module sndfile.so",
		"module srtp.so",
		"module dtls_srtp.so",
		"module_tmp account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		fmt.Sprintf("ctrl_tcp_listen %s:%d", c.ip, ctrlPort),
		"snd_path " + filepath.Join(dir, "dump"),
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf), 0o644); err != nil {
		return err
	}
	// One account; auto answer. regint=0 disables REGISTER.
	host := fmt.Sprintf("%s:%d", c.ip, sipPort)
	regint := 0
	if c.register != "" {
		host, regint = c.register, 600
	}
	mode := "auto"
	if c.manual {
		mode = "manual"
	}
	acc := fmt.Sprintf("<sip:%s@%s>;regint=%d;answermode=%s;audio_codecs=PCMU", c.user, host, regint, mode)
	if c.mediaenc != "" {
		acc += ";mediaenc=" + c.mediaenc
	}
	return os.WriteFile(filepath.Join(dir, "accounts"), []byte(acc+"\n"), 0o644)
}

// startUA writes the config, starts baresip and connects to ctrl_tcp.
func startUA(ctx context.Context, t *testing.T, dir string, c uaConfig) *ua {
	t.Helper()
	u := &ua{cfg: c, dir: dir, sipPort: c.sipPort}
	if u.sipPort == 0 {
		u.sipPort = freeUDPPort(t, c.ip)
	}
	ctrlPort, err := interop.FreeTCPPort(c.ip)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeBaresipConfig(dir, c, u.sipPort, ctrlPort); err != nil {
		t.Fatal(err)
	}
	// -v: debug log (DTLS-SRTP profile and fingerprint check lines).
	u.proc = interop.StartProc(t, dir, "baresip-"+c.name, interop.ProcOpts{}, "baresip", "-f", dir, "-v")
	for {
		u.ctl, err = dialCtrl(net.JoinHostPort(c.ip, strconv.Itoa(ctrlPort)))
		if err == nil || ctx.Err() != nil || u.proc.Exited() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("%s: ctrl_tcp: %v", c.name, err)
	}
	t.Cleanup(u.ctl.close)
	return u
}

// uaEvent is one ctrl_tcp event.
type uaEvent struct {
	Type  string `json:"type"`
	Class string `json:"class"`
	Param string `json:"param"`
	ID    string `json:"id"`
	Peer  string `json:"peeruri"`
}

type ctrlClient struct {
	conn net.Conn

	mu     sync.Mutex
	events []uaEvent
	resp   map[string]chan ctrlResponse
	notify chan struct{} // pulsed on every event
	dead   chan struct{} // closed when the connection ends
	seq    int
}

type ctrlResponse struct {
	OK   bool   `json:"ok"`
	Data string `json:"data"`
}

func dialCtrl(addr string) (*ctrlClient, error) {
	conn, err := net.DialTimeout("tcp4", addr, time.Second)
	if err != nil {
		return nil, err
	}
	c := &ctrlClient{conn: conn, resp: map[string]chan ctrlResponse{}, notify: make(chan struct{}, 1), dead: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *ctrlClient) close() { _ = c.conn.Close() }

// readLoop parses netstrings "<len>:<json>," (ctrl_tcp framing).
func (c *ctrlClient) readLoop() {
	defer close(c.dead)
	r := bufio.NewReader(c.conn)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(lenStr, ":")))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		body := make([]byte, n+1)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var msg struct {
			Event    bool   `json:"event"`
			Response bool   `json:"response"`
			Token    string `json:"token"`
			uaEvent
			ctrlResponse
		}
		if json.Unmarshal(body[:n], &msg) != nil {
			continue
		}
		c.mu.Lock()
		switch {
		case msg.Event:
			c.events = append(c.events, msg.uaEvent)
		case msg.Response:
			if ch := c.resp[msg.Token]; ch != nil {
				ch <- msg.ctrlResponse
				delete(c.resp, msg.Token)
			}
		}
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// command runs a menu command ("dial", "hangup", "quit") and waits for its
// response.
func (c *ctrlClient) command(ctx context.Context, cmd, params string) (ctrlResponse, error) {
	c.mu.Lock()
	c.seq++
	token := strconv.Itoa(c.seq)
	ch := make(chan ctrlResponse, 1)
	c.resp[token] = ch
	c.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": token})
	if _, err := fmt.Fprintf(c.conn, "%d:%s,", len(body), body); err != nil {
		return ctrlResponse{}, err
	}
	select {
	case r := <-ch:
		if !r.OK {
			return r, fmt.Errorf("%s %s: %s", cmd, params, strings.TrimSpace(r.Data))
		}
		return r, nil
	case <-c.dead:
		return ctrlResponse{}, fmt.Errorf("%s: ctrl_tcp connection closed", cmd)
	case <-ctx.Done():
		return ctrlResponse{}, fmt.Errorf("%s: no response: %w", cmd, ctx.Err())
	}
}

// waitEvent blocks until an event of type typ has been seen.
func (c *ctrlClient) waitEvent(ctx context.Context, typ string) (uaEvent, error) {
	find := func() (uaEvent, bool) {
		for _, e := range c.eventList() {
			if e.Type == typ {
				return e, true
			}
		}
		return uaEvent{}, false
	}
	for {
		if e, ok := find(); ok {
			return e, nil
		}
		select {
		case <-c.notify:
		case <-c.dead:
			if e, ok := find(); ok { // arrived just before the close
				return e, nil
			}
			return uaEvent{}, fmt.Errorf("waiting for %s: ctrl_tcp connection closed (events: %v)", typ, c.eventTypes())
		case <-ctx.Done():
			return uaEvent{}, fmt.Errorf("waiting for %s: %w (events: %v)", typ, ctx.Err(), c.eventTypes())
		}
	}
}

func (c *ctrlClient) eventList() []uaEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uaEvent(nil), c.events...)
}

func (c *ctrlClient) eventTypes() []string {
	var out []string
	for _, e := range c.eventList() {
		out = append(out, e.Type+"("+e.Param+")")
	}
	return out
}

// waitRegistered polls "reginfo" until the account shows OK: the
// REGISTER_OK event can fire before the ctrl_tcp connection exists.
func (u *ua) waitRegistered(ctx context.Context) error {
	for {
		r, err := u.ctl.command(ctx, "reginfo", "")
		if err == nil && strings.Contains(r.Data, "OK") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not registered: %w (reginfo %q)", u.cfg.name, ctx.Err(), r.Data)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// recording returns the samples baresip decoded from the network during the
// call (sndfile's *-dec.wav).
func (u *ua) recording() ([]int16, int, error) {
	m, err := filepath.Glob(filepath.Join(u.dir, "dump", "*-dec.wav"))
	if err != nil || len(m) != 1 {
		return nil, 0, fmt.Errorf("%s: want one *-dec.wav in %s, found %v", u.cfg.name, u.dir, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		return nil, 0, err
	}
	return readWAV(b)
}
