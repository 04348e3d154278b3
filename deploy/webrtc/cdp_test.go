package webrtc

// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe:
// Chromium reads commands from fd 3 and writes replies and events to fd 4,
// each message a JSON object followed by a NUL byte. The pipe needs no
// websocket, no port and no extra module, and it dies with the browser.
// Sessions are "flat" (Target.attachToTarget flatten=true): a command for a
// page carries its sessionId at top level.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type cdpMsg struct {
	ID        int             `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
}

type cdp struct {
	w       io.WriteCloser
	onEvent func(cdpMsg)

	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMsg
	err     error         // why the read loop ended
	done    chan struct{} // closed when it has
}

// newCDP starts reading r; onEvent gets every message without an id, on
// the reader goroutine (it must not call back into c).
func newCDP(r io.Reader, w io.WriteCloser, onEvent func(cdpMsg)) *cdp {
	c := &cdp{w: w, onEvent: onEvent, pending: map[int]chan cdpMsg{}, done: make(chan struct{})}
	go c.readLoop(r)
	return c
}

func (c *cdp) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	var err error
	for {
		var b []byte
		b, err = br.ReadBytes(0)
		if err != nil {
			break
		}
		var m cdpMsg
		if jerr := json.Unmarshal(b[:len(b)-1], &m); jerr != nil {
			err = fmt.Errorf("cdp: bad message: %w", jerr)
			break
		}
		if m.ID == 0 {
			if c.onEvent != nil {
				c.onEvent(m)
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

// call sends method with params to session ("" = the browser) and decodes
// the result into out (may be nil).
func (c *cdp) call(ctx context.Context, session, method string, params, out any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if params == nil {
		p = []byte("{}")
	}
	ch := make(chan cdpMsg, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	b, err := json.Marshal(cdpMsg{ID: id, SessionID: session, Method: method, Params: p})
	if err != nil {
		return err
	}
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("cdp %s: %d %s", method, m.Error.Code, m.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Errorf("cdp %s: connection closed: %v", method, c.err)
	case <-ctx.Done():
		return fmt.Errorf("cdp %s: %w", method, ctx.Err())
	}
}

func (c *cdp) close() error { return c.w.Close() }

// fakeBrowser answers each command on the pipe pair with reply(msg) and
// sends one event before each answer.
func fakeBrowser(t *testing.T, reply func(m cdpMsg) cdpMsg) (toBrowser io.WriteCloser, fromBrowser io.Reader) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() {
		defer outW.Close()
		br := bufio.NewReader(inR)
		for {
			b, err := br.ReadBytes(0)
			if err != nil {
				return
			}
			var m cdpMsg
			if err := json.Unmarshal(b[:len(b)-1], &m); err != nil {
				t.Errorf("fake browser got bad JSON %q", b)
				return
			}
			ev, _ := json.Marshal(cdpMsg{Method: "Runtime.consoleAPICalled", SessionID: m.SessionID, Params: json.RawMessage(`{"type":"log"}`)})
			r := reply(m)
			r.ID = m.ID
			out, _ := json.Marshal(r)
			if _, err := outW.Write(append(append(ev, 0), append(out, 0)...)); err != nil {
				return
			}
		}
	}()
	return inW, outR
}

func TestCDP(t *testing.T) {
	w, r := fakeBrowser(t, func(m cdpMsg) cdpMsg {
		switch m.Method {
		case "Target.getTargets":
			return cdpMsg{Result: json.RawMessage(`{"targetInfos":[{"targetId":"T1","type":"page"}]}`)}
		case "Page.captureScreenshot":
			if m.SessionID != "S1" {
				return cdpMsg{Error: &cdpError{Code: -32001, Message: "Session with given id not found."}}
			}
			return cdpMsg{Result: json.RawMessage(`{"data":"iVBORw=="}`)}
		default:
			return cdpMsg{Error: &cdpError{Code: -32601, Message: "'" + m.Method + "' wasn't found"}}
		}
	})
	events := make(chan cdpMsg, 16)
	c := newCDP(r, w, func(m cdpMsg) { events <- m })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var targets struct {
		TargetInfos []struct{ TargetID, Type string }
	}
	if err := c.call(ctx, "", "Target.getTargets", nil, &targets); err != nil {
		t.Fatal(err)
	}
	if len(targets.TargetInfos) != 1 || targets.TargetInfos[0].TargetID != "T1" {
		t.Errorf("targets %+v", targets)
	}
	var shot struct{ Data string }
	if err := c.call(ctx, "S1", "Page.captureScreenshot", map[string]string{"format": "png"}, &shot); err != nil || shot.Data != "iVBORw==" {
		t.Errorf("screenshot %q, %v", shot.Data, err)
	}
	if err := c.call(ctx, "S2", "Page.captureScreenshot", nil, nil); err == nil {
		t.Error("command for an unknown session succeeded")
	}
	if err := c.call(ctx, "", "No.such", nil, nil); err == nil {
		t.Error("unknown method succeeded")
	}
	select {
	case ev := <-events:
		if ev.Method != "Runtime.consoleAPICalled" {
			t.Errorf("event %+v", ev)
		}
	default:
		t.Error("no event delivered")
	}
	// Closing the pipe ends the fake browser; a later call must fail
	// instead of hanging.
	_ = c.close()
	<-c.done
	if err := c.call(ctx, "", "Target.getTargets", nil, nil); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call after close: %v", err)
	}
}
