package main

// The HTTP listener (security requirement C5): with --http-token-file every
// path needs the bearer token, a token file others can read is refused at
// start, and /metrics never names a call's parties.

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/srtpgw/srtpgw/relay/ng"
)

// TestAbuseHTTPBearerToken: without the token, with a wrong one, with the
// right one minus a character and with a non-Bearer scheme, every path
// (/metrics, /readyz, /healthz) answers 401 and carries a WWW-Authenticate
// challenge; with the token each answers 200. A token file readable by
// others, or shorter than 16 characters, stops the daemon from starting.
func TestAbuseHTTPBearerToken(t *testing.T) {
	const token = "s3cret-token-for-metrics-0123456789"
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _ := startTestDaemon(t, func(c *Config) {
		c.HTTPTokenFile = tokFile
		c.PortMin, c.PortMax = 29200, 29299
	})
	get := func(path, auth string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+httpAddrOf(d)+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/metrics", "/readyz", "/healthz"} {
		for _, auth := range []string{"", "Bearer wrong-token-wrong-token-wrong", "Bearer " + token[:len(token)-1],
			"Basic " + token, "bearer " + token, "Bearer " + token + "x"} {
			resp := get(path, auth)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("GET %s with %q: %s, challenge %q; want 401 with a Bearer challenge", path, auth, resp.Status, resp.Header.Get("WWW-Authenticate"))
			}
		}
		if resp := get(path, "Bearer "+token); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the token: %s", path, resp.Status)
		}
	}

	for _, bad := range []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"world-readable", token, 0o644, "accessible to others"},
		{"group-writable", token, 0o660, "accessible to others"},
		{"short", "short-token", 0o600, "fewer than 16 characters"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(f, []byte(bad.content), bad.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(f, bad.mode) // past the umask
			cfg := testConfig(t)
			cfg.HTTPTokenFile = f
			cfg.PortMin, cfg.PortMax = 29300, 29399
			d, err := startDaemon(cfg, newLogger(cfg, io.Discard))
			if err == nil {
				d.shutdown("test")
				t.Fatal("daemon started with a bad token file")
			}
			if !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("error %q, want it to say %q", err, bad.want)
			}
		})
	}
}

// TestAbuseMetricsNoPHI: after a call whose call-id and tags look like
// what a clinic's PBX sends (a phone number, a patient-room label), no
// series of /metrics names the call-id, a tag, a label, the phone's
// address or any E.164 number.
func TestAbuseMetricsNoPHI(t *testing.T) {
	d, _ := startTestDaemon(t, func(c *Config) { c.PortMin, c.PortMax = 29400, 29499 })
	c, err := dialNG(ngAddrOf(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const callID, fromTag, label = "+14155550123-room12@clinic.example", "tag+14155550199", "oncology-room-12"
	sc, err := setupCallSpec(c, callSpec{id: callID, fromTag: fromTag, toTag: "tt+14155550100",
		offerExtra: []ng.Entry{ng.E("label", ng.String(label))}})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := mediaBothWays(sc, 3); err != nil {
		t.Fatal(err)
	}
	during := scrape(t, httpAddrOf(d))
	if _, err := c.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(callID))); err != nil {
		t.Fatal(err)
	}
	after := scrape(t, httpAddrOf(d))
	e164 := regexp.MustCompile(`\+?[1-9][0-9]{7,14}`)
	phone := sc.phone.RTPAddr()
	for name, body := range map[string]string{"during the call": during, "after it": after} {
		if !strings.Contains(body, "srtpgw_calls_started_total 1") {
			t.Fatalf("%s: the scrape does not show the call", name)
		}
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "#") || !strings.Contains(line, "{") {
				continue
			}
			labels := line[strings.Index(line, "{"):strings.LastIndex(line, "}")]
			for _, secret := range []string{callID, "room12", fromTag, label, phone.String()} {
				if strings.Contains(labels, secret) {
					t.Fatalf("%s: series %q names %q", name, line, secret)
				}
			}
			if m := e164.FindString(labels); m != "" && !strings.Contains(line, "_bucket{") {
				t.Fatalf("%s: series %q has a number that could be E.164: %q", name, line, m)
			}
		}
	}
}
