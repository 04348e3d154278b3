//go:build interop

package kamailio

// Calls that never get answered must not leak relay sessions: a rejected
// INVITE (failure_route) and a CANCEL each end in an ng delete.

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/srtpgw/srtpgw/deploy/interop"
)

type unansweredCase struct {
	name            string
	upstreamRejects bool   // true: upstream answers 486; false: phone cancels
	wantLog         string // kamailio.cfg's xlog line for this failure
}

func runUnanswered(ctx context.Context, t *testing.T, dir string, tc unansweredCase, kamAddr string, upstreamSIP int, tap *ngTap, kam *interop.Proc) {
	if kam.Exited() {
		t.Fatal("kamailio has exited")
	}
	up := startUA(ctx, t, filepath.Join(dir, "upstream"), uaConfig{
		name: "upstream", ip: upstreamIP, sipPort: upstreamSIP, user: "upstream", tone: upTone,
		mediaenc: "dtls_srtp", rtcpMux: true, manual: true,
	})
	phone := startUA(ctx, t, filepath.Join(dir, "phone"), uaConfig{
		name: "phone", ip: phoneIP, user: "phone", tone: phoneTone,
	})
	ngBefore := len(tap.datagrams())
	if _, err := phone.ctl.command(ctx, "dial", "sip:upstream@"+kamAddr); err != nil {
		t.Fatal(err)
	}
	if _, err := up.ctl.waitEvent(within(ctx, 5*time.Second), "CALL_INCOMING"); err != nil {
		t.Fatal(err)
	}
	// A CANCEL may only follow a provisional response (RFC 3261 s9.1).
	if _, err := phone.ctl.waitEvent(within(ctx, 5*time.Second), "CALL_RINGING"); err != nil {
		t.Fatal(err)
	}
	// "hangup" on the ringing side rejects the INVITE; on the calling side
	// it sends CANCEL (RFC 3261 s9).
	actor := phone
	if tc.upstreamRejects {
		actor = up
	}
	if _, err := actor.ctl.command(ctx, "hangup", ""); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*ua{phone, up} {
		if _, err := u.ctl.waitEvent(within(ctx, 5*time.Second), "CALL_CLOSED"); err != nil {
			t.Fatalf("%s: %v", u.cfg.name, err)
		}
	}
	for _, u := range []*ua{phone, up} {
		u.proc.Stop(syscall.SIGTERM, 3*time.Second)
	}
	ex := waitDelete(within(ctx, 5*time.Second), t, tap, ngBefore)
	cmds := commandsOf(ex)
	t.Logf("ng commands (x sends): %v", cmds)
	if len(ex) == 0 || ex[0].command != "offer" {
		t.Fatalf("first ng command %v, want offer", cmds)
	}
	for _, e := range ex {
		if e.command == "answer" {
			t.Error("ng answer sent for a call that was never answered")
		}
		if e.command == "delete" && string(e.reqDict.Get("call-id").Str) != string(ex[0].reqDict.Get("call-id").Str) {
			t.Errorf("delete for another call-id %q", e.reqDict.Get("call-id").Str)
		}
	}
	if err := kam.WaitLog(within(ctx, 2*time.Second), tc.wantLog); err != nil {
		t.Error(err)
	}
}
