//go:build interop

package webrtc

// Headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe, see cdp_test.go): launch, attach to the page,
// copy its console to a log file, navigate, screenshot, close.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

const chromiumBin = "/usr/bin/chromium"

// chromiumFlags are the flags every run uses. The brief's list, plus:
//   - --allow-loopback-in-peer-connection: without it Chromium's network
//     manager drops loopback interfaces, so a machine whose only
//     interface is lo gathers no candidate at all and ICE fails.
//   - --disable-features=WebRtcHideLocalIpsWithMdns: otherwise host
//     candidates go out as <uuid>.local names, which a relay cannot
//     resolve (it would have to learn the browser as peer-reflexive).
//
// The README records what happens without each of them.
func chromiumFlags(profile string) []string {
	return []string{
		"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--autoplay-policy=no-user-gesture-required",
		"--use-fake-ui-for-media-stream",
		"--allow-loopback-in-peer-connection",
		"--disable-features=WebRtcHideLocalIpsWithMdns",
		"--password-store=basic", "--disable-dev-shm-usage", "--mute-audio",
		"--window-size=900,900", "--enable-logging=stderr", "--v=0",
		"--remote-debugging-pipe",
	}
}

type browser struct {
	proc    *interop.Proc
	cdp     *cdp
	session string // the page's flat CDP session

	mu      sync.Mutex
	console *os.File
}

// launchChromium starts Chromium on about:blank and attaches to its page.
// For experiments, flags in drop are left out and extraFlags appended.
func launchChromium(ctx context.Context, t *testing.T, dir string, ns *netns, drop []string, extraFlags ...string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Fatalf("%s missing (apt-get install chromium): %v", chromiumBin, err)
	}
	// fd 3: commands to the browser; fd 4: replies and events from it.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	console, err := os.Create(filepath.Join(dir, "chromium-console.log"))
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{console: console}
	var args []string
	for _, f := range chromiumFlags(filepath.Join(dir, "chromium-profile")) {
		if slices.Contains(drop, f) {
			t.Logf("experiment: without %s", f)
			continue
		}
		args = append(args, f)
	}
	args = append(args, extraFlags...)
	args = append(args, "about:blank")
	b.proc = interop.StartProc(t, dir, "chromium", interop.ProcOpts{ExtraFiles: []*os.File{cmdR, evW}, NS: ns}, chromiumBin, args...)
	cmdR.Close()
	evW.Close()
	b.cdp = newCDP(evR, cmdW, b.event)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = b.cdp.call(cctx, "", "Browser.close", nil, nil)
		_ = b.cdp.close()
		b.proc.Stop(syscall.SIGTERM, 3*time.Second)
		evR.Close()
		b.mu.Lock()
		b.console.Close()
		b.console = nil
		b.mu.Unlock()
		if t.Failed() {
			t.Logf("---- last lines of %s ----\n%s", console.Name(), interop.Tail(console.Name(), 40))
		}
	})

	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var page string
	for page == "" {
		var targets struct {
			TargetInfos []struct {
				TargetID string `json:"targetId"`
				Type     string `json:"type"`
			} `json:"targetInfos"`
		}
		if err := b.cdp.call(cctx, "", "Target.getTargets", nil, &targets); err != nil {
			t.Fatalf("chromium: %v", err)
		}
		for _, ti := range targets.TargetInfos {
			if ti.Type == "page" {
				page = ti.TargetID
			}
		}
		if page == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.cdp.call(cctx, "", "Target.attachToTarget", map[string]any{"targetId": page, "flatten": true}, &att); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	b.session = att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		if err := b.cdp.call(cctx, b.session, m, nil, nil); err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	var ver struct {
		Product string `json:"product"`
	}
	_ = b.cdp.call(cctx, "", "Browser.getVersion", nil, &ver)
	t.Logf("chromium %s attached (session %s)", ver.Product, b.session)
	return b
}

// event writes the page's console, exceptions and log entries to
// chromium-console.log.
func (b *browser) event(m cdpMsg) {
	var line string
	switch m.Method {
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(m.Params, &p)
		var parts []string
		for _, a := range p.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = "console." + p.Type + ": " + strings.Join(parts, " ")
	case "Runtime.exceptionThrown":
		line = "exception: " + string(m.Params)
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Source, Text, URL string
			} `json:"entry"`
		}
		_ = json.Unmarshal(m.Params, &p)
		line = fmt.Sprintf("log.%s (%s): %s %s", p.Entry.Level, p.Entry.Source, p.Entry.Text, p.Entry.URL)
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.console != nil {
		fmt.Fprintf(b.console, "%s %s\n", time.Now().Format("15:04:05.000"), line)
	}
}

func (b *browser) navigate(ctx context.Context, url string) error {
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.cdp.call(ctx, b.session, "Page.navigate", map[string]string{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate %s: %s", url, res.ErrorText)
	}
	return nil
}

// screenshot saves the page as a PNG and returns its size.
func (b *browser) screenshot(ctx context.Context, path string) (int, error) {
	var shot struct {
		Data string `json:"data"`
	}
	if err := b.cdp.call(ctx, b.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &shot); err != nil {
		return 0, err
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		return 0, err
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		return 0, fmt.Errorf("screenshot is not a PNG (%d bytes)", len(png))
	}
	return len(png), os.WriteFile(path, png, 0o644)
}
