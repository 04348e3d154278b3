//go:build interop

package webrtc

// Test 1: headless Chromium as the WebRTC peer. The test serves
// testdata/peer.html on 127.0.0.1 with a test-only signalling endpoint:
//
//	GET  /offer   the relay's offer SDP
//	POST /answer  the browser's complete answer SDP
//	POST /result  the browser's measurements (JSON, see peerReport)
//
//	SRTPGW_INTEROP_RELAY=rtpengine go test -tags interop -count=1 -v -run TestChromiumInterop ./deploy/webrtc/

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

type chromePeer struct {
	t       *testing.T
	ns      *netns
	dir     string
	br      *browser
	baseURL string

	shot bool // a screenshot has been saved

	mu      sync.Mutex
	offer   string
	answers chan []byte
	results chan []byte
}

// serve starts the page and signalling server on a random loopback port.
func (c *chromePeer) serve(t *testing.T) {
	c.answers = make(chan []byte, 1)
	c.results = make(chan []byte, 1)
	mux := http.NewServeMux()
	for _, f := range []string{"peer.html", "peer.js"} {
		mux.HandleFunc("GET /"+f, func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, filepath.Join("testdata", f))
		})
	}
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // keeps a 404 out of the console log
	})
	mux.HandleFunc("GET /offer", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		w.Header().Set("Content-Type", "application/sdp")
		_, _ = io.WriteString(w, c.offer)
	})
	post := func(ch chan<- []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			select {
			case ch <- b:
			default: // a second post: the first one counts
			}
		}
	}
	mux.HandleFunc("POST /answer", post(c.answers))
	mux.HandleFunc("POST /result", post(c.results))
	var ln net.Listener
	err := c.ns.Do(func() (err error) { ln, err = net.Listen("tcp4", "127.0.0.1:0"); return err })
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c.baseURL = "http://" + ln.Addr().String()
}

func (c *chromePeer) answer(ctx context.Context, offer string) (string, error) {
	c.mu.Lock()
	c.offer = offer
	c.mu.Unlock()
	url := fmt.Sprintf("%s/peer.html?send=%g&expect=%g&ms=5000", c.baseURL, peerToneHz, phoneToneHz)
	if err := c.br.navigate(ctx, url); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case a := <-c.answers:
		return string(a), nil
	case b := <-c.results: // the page failed before answering
		return "", fmt.Errorf("page gave up before answering: %s", b)
	case <-c.br.proc.Done():
		return "", errors.New("chromium exited before answering")
	case <-ctx.Done():
		return "", fmt.Errorf("no answer from the page: %w (see chromium-console.log)", ctx.Err())
	}
}

func (c *chromePeer) report(ctx context.Context) (peerReport, error) {
	var r peerReport
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var b []byte
	select {
	case b = <-c.results:
	case <-c.br.proc.Done():
		return r, errors.New("chromium exited before reporting")
	case <-ctx.Done():
		return r, fmt.Errorf("no result from the page: %w", ctx.Err())
	}
	c.shoot(ctx)
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("page result %q: %w", b, err)
	}
	return r, nil
}

// shoot saves the page (with its numbers) as chromium.png in the log dir.
func (c *chromePeer) shoot(ctx context.Context) {
	time.Sleep(100 * time.Millisecond) // let the page paint the table it just filled
	path := filepath.Join(c.dir, "chromium.png")
	n, err := c.br.screenshot(ctx, path)
	if err != nil {
		c.t.Errorf("screenshot: %v", err)
		return
	}
	c.shot = true
	c.t.Logf("screenshot %s (%d bytes)", path, n)
}

func TestChromiumInterop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	start := time.Now()
	dir := interop.WorkDir(t)
	ns := newNetns(t)
	relay := startRelay(ctx, t, dir, ns)
	peer := &chromePeer{t: t, dir: dir, ns: ns}
	peer.serve(t)
	// Experiments (the README's flag table): add or drop browser flags.
	extra := strings.Fields(os.Getenv("SRTPGW_CHROMIUM_EXTRA_FLAGS"))
	drop := strings.Fields(os.Getenv("SRTPGW_CHROMIUM_DROP_FLAGS"))
	peer.br = launchChromium(ctx, t, dir, ns, drop, extra...)
	t.Cleanup(func() { // runs before the browser's own cleanup closes it
		if !peer.shot && !peer.br.proc.Exited() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			peer.shoot(sctx) // what the page showed when the test gave up
		}
	})
	t.Logf("relay and chromium ready after %v", time.Since(start).Round(time.Millisecond))

	res := runCall(ctx, t, dir, relay, peer, callOpts{})
	r := res.report
	// Chromium answers an actpass offer with a=setup:active and becomes
	// the DTLS client (RFC 8842 §5.3 lets the answerer choose; JSEP
	// picks active).
	if res.answer.setup != "active" || r.DTLSRole != "client" {
		t.Errorf("chromium answered setup:%s with DTLS role %q, want active/client", res.answer.setup, r.DTLSRole)
	}
	if r.DTLSState != "connected" || r.SRTPCipher == "" {
		t.Errorf("chromium transport: dtlsState %q, srtpCipher %q", r.DTLSState, r.SRTPCipher)
	}
	if !strings.HasPrefix(r.RemoteCandidate, relayWAN+":") {
		t.Errorf("chromium's selected remote candidate %q, want the relay's %s", r.RemoteCandidate, relayWAN)
	}
	if !strings.HasPrefix(strings.ToLower(r.Codec), "audio/pcmu/8000") {
		t.Errorf("chromium received codec %q, want PCMU (the phone's only codec)", r.Codec)
	}
	logSummary(t, "chromium", relay, res, start)
}
