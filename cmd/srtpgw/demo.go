package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
	"github.com/srtpgw/srtpgw/relay/sim"
)

// runDemo is the gateway's main job in one command: an in-process srtpgw on
// its defaults, a simulated desk phone (plain RTP) and a simulated cloud PBX
// (DTLS-SRTP through pion directly), one call placed over ng, audio both
// ways, a verdict, and the call log verified.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("srtpgw demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dur := fs.Duration("duration", 5*time.Second, "how long the call's audio runs")
	verbose := fs.Bool("v", false, "show the gateway's log")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := demo(*dur, *verbose, stdout, stderr); err != nil {
		fmt.Fprintf(stdout, "\nVERDICT: FAIL: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "\nVERDICT: PASS")
	return 0
}

func demo(dur time.Duration, verbose bool, out, errw io.Writer) error {
	dir, err := os.MkdirTemp("", "srtpgw-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := DefaultConfig()
	cfg.ListenNG = "127.0.0.1:0" // never clash with a running gateway
	cfg.ListenHTTP = ""
	cfg.DeleteDelay = 0
	cfg.AuditLog = filepath.Join(dir, "audit.jsonl")
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: level}))
	d, err := startDaemon(cfg, log)
	if err != nil {
		return fmt.Errorf("starting the gateway: %w", err)
	}
	defer d.shutdown("demo done")
	host := cfg.Interfaces[0].Addr
	fmt.Fprintf(out, "srtpgw %s demo: gateway on %s, ng on %s, call log %s\n", version, host, d.ngUDP.LocalAddr(), cfg.AuditLog)

	phone, err := sim.NewPhone(host)
	if err != nil {
		return err
	}
	defer phone.Close()
	up, err := sim.NewUpstream(sim.UpstreamConfig{Addr: host, Setup: "active", Mux: true, Capture: true})
	if err != nil {
		return err
	}
	defer up.Close()
	ngc, err := dialNG(d.ngUDP.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort())
	if err != nil {
		return err
	}
	defer ngc.Close()

	// The SIP proxy's part: offer from the phone, answer from the cloud,
	// with the flags of ng-protocol.md b.6 (phone -> cloud).
	const callID, fromTag, toTag = "demo-call@clinic.example", "phone-tag", "cloud-tag"
	rep, err := ngc.call(ng.E("command", ng.String("offer")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String(fromTag)), ng.E("sdp", ng.Bytes(phone.OfferSDP(1))),
		ng.E("transport-protocol", ng.String("UDP/TLS/RTP/SAVP")), ng.E("ICE", ng.String("remove")),
		ng.E("rtcp-mux", strs("offer")), ng.E("SDES", strs("off")), ng.E("replace", strs("origin", "session-connection")),
		ng.E("supports", strs("load limit")))
	if err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	answer, err := up.Answer(rep.Get("sdp").Bytes())
	if err != nil {
		return fmt.Errorf("upstream could not read srtpgw's offer: %w", err)
	}
	rep, err = ngc.call(ng.E("command", ng.String("answer")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String(fromTag)), ng.E("to-tag", ng.String(toTag)), ng.E("sdp", ng.Bytes(answer)),
		ng.E("ICE", ng.String("remove")), ng.E("rtcp-mux", strs("demux")))
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if err := phone.SetRemote(rep.Get("sdp").Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(out, "call set up over ng: phone %s <-> srtpgw <-> upstream %s (%s)\n",
		phone.RTPAddr(), up.Remote().RTP, "UDP/TLS/RTP/SAVP")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := up.Connect(ctx, true); err != nil {
		return fmt.Errorf("DTLS handshake: %w", err)
	}
	if err := waitKeys(ngc, callID); err != nil {
		return err
	}
	fmt.Fprintf(out, "DTLS-SRTP established in %s: %s, %s\n", time.Since(start).Round(time.Millisecond),
		profileName(up.Profile()), up.CipherSuite())

	sentUp, sentDown := talk(phone, up, dur, out)

	rep, err = ngc.call(ng.E("command", ng.String("delete")), ng.E("call-id", ng.String(callID)),
		ng.E("from-tag", ng.String(fromTag)))
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	totals := rep.Get("totals").Get("RTP")
	relayed, _ := totals.Get("packets").Int()

	gotUp, _ := up.Received()
	gotDown, _ := phone.Received()
	plaintext := 0
	for _, p := range up.Captured() {
		if bytes.Contains(p.Data, []byte(demoMarker)) {
			plaintext++
		}
	}
	snap := d.relay.Snapshot()
	fmt.Fprintf(out, "\nphone -> upstream: %d sent, %d delivered (decrypted by the upstream)\n", sentUp, len(gotUp))
	fmt.Fprintf(out, "upstream -> phone: %d sent, %d delivered (decrypted by srtpgw)\n", sentDown, len(gotDown))
	fmt.Fprintf(out, "negotiated: %s over %s\n", profileName(up.Profile()), up.CipherSuite())
	fmt.Fprintf(out, "relayed per ng delete: %d RTP packets\n", relayed)
	fmt.Fprintf(out, "%d plaintext packets upstream (capture), srtpgw_upstream_plaintext_packets_total %d\n", plaintext, snap.UpstreamPlaintext)

	d.shutdown("demo done")
	files, err := audit.Files(cfg.AuditLog)
	if err != nil {
		return err
	}
	res, verr := audit.Verify(files, d.audit.PublicKey())
	if verr == nil {
		fmt.Fprintf(out, "call log: %d records, hash chain and signatures verified\n", res.Records)
	}

	var errs []error
	if len(gotUp) != sentUp || len(gotDown) != sentDown {
		errs = append(errs, fmt.Errorf("lost packets: %d/%d up, %d/%d down", len(gotUp), sentUp, len(gotDown), sentDown))
	}
	if plaintext != 0 || snap.UpstreamPlaintext != 0 {
		errs = append(errs, errors.New("plaintext reached the upstream leg"))
	}
	if verr != nil {
		errs = append(errs, fmt.Errorf("call log verification: %w", verr))
	}
	return errors.Join(errs...)
}

const demoMarker = "srtpgw-demo-voice"

// waitKeys polls ng query until srtpgw reports a crypto suite: srtpgw may
// finish its side of the handshake a flight after the upstream.
func waitKeys(c *ngClient, callID string) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rep, err := c.call(ng.E("command", ng.String("query")), ng.E("call-id", ng.String(callID)))
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		if bytes.Contains(ng.Encode(rep), []byte("crypto suite")) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("srtpgw reported no SRTP keys within 5 s")
}

// talk runs 20 ms G.711 audio both ways for dur and prints per-second stats.
func talk(phone *sim.Phone, up *sim.Upstream, dur time.Duration, out io.Writer) (sentUp, sentDown int) {
	voice := bytes.Repeat([]byte{0xd5}, 160)
	copy(voice, demoMarker)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	ssrc := uint32(0x5ec0de)
	start := time.Now()
	end := start.Add(dur)
	nextReport := start.Add(time.Second)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		if _, err := phone.SendRTP(voice); err == nil {
			sentUp++
		}
		pkt := make([]byte, 12, 172)
		pkt[0] = 0x80
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
		binary.BigEndian.PutUint32(pkt[8:], ssrc)
		seq++
		if _, err := up.SendRTP(append(pkt, voice...)); err == nil {
			sentDown++
		}
		if now.After(nextReport) {
			gotUp, _ := up.Received()
			gotDown, _ := phone.Received()
			fmt.Fprintf(out, "  %2ds  phone->upstream %4d sent %4d delivered | upstream->phone %4d sent %4d delivered\n",
				int(now.Sub(start).Round(time.Second).Seconds()), sentUp, len(gotUp), sentDown, len(gotDown))
			nextReport = nextReport.Add(time.Second)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the last packets land
	return sentUp, sentDown
}

// profileName names a pion SRTP profile the way srtpgw's crypto package does.
func profileName(p dtls.SRTPProtectionProfile) string {
	return crypto.Profile(p).String()
}
