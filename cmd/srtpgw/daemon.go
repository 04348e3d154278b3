package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srtpgw/srtpgw/crypto"
	"github.com/srtpgw/srtpgw/relay"
	"github.com/srtpgw/srtpgw/relay/audit"
	"github.com/srtpgw/srtpgw/relay/ng"
	"github.com/srtpgw/srtpgw/relay/udp"
)

// Handshake caps (security requirement A4): at most this many DTLS
// handshakes at once, and per peer IP. A cloud PBX is one IP that may set
// up many calls at once, so the per-source cap is generous; a handshake
// over a cap waits and retries rather than failing its call, and only a
// signalled peer address can start one at all.
const (
	maxHandshakes          = 512
	maxHandshakesPerSource = 128
)

// shutdownBound caps how long SIGTERM takes: calls are ended and recorded,
// listeners closed, the call log signed and closed.
const shutdownBound = 15 * time.Second

// daemon is a running srtpgw: relay, ng listeners, call log and HTTP.
type daemon struct {
	cfg    Config
	log    *slog.Logger
	certs  *crypto.CertStore
	audit  *audit.Log
	relay  *relay.Relay
	poller *udp.Poller
	ng     *ng.Server
	ngUDP  *net.UDPConn
	ngTCP  net.Listener
	http   *http.Server
	httpLn net.Listener

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	draining atomic.Bool
	stopOnce sync.Once
}

// startDaemon binds everything and starts serving. On error nothing is
// left running.
func startDaemon(cfg Config, log *slog.Logger) (_ *daemon, err error) {
	d := &daemon{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			d.closeAll()
			if d.audit != nil {
				d.audit.Shutdown("startup failed")
			}
		}
	}()
	if err := harden(); err != nil {
		return nil, err
	}
	if d.certs, err = crypto.NewCertStore(cfg.CertValidity, cfg.CertRotate, time.Now); err != nil {
		return nil, fmt.Errorf("DTLS certificate: %w", err)
	}
	if d.audit, err = openAudit(cfg, log); err != nil {
		return nil, err
	}
	sink := auditSink{log: d.audit, l: log}

	rc := cfg.relayConfig()
	// Media sockets go to the batched poller (epoll + recvmmsg/sendmmsg, one
	// worker per CPU); where it is unavailable each socket gets a goroutine.
	if d.poller, err = udp.NewPoller(0); err != nil {
		log.Warn("batched socket I/O unavailable, using a goroutine per socket", "err", err)
		d.poller = nil
	}
	rc.Network = udp.System{TOS: udp.DSCPExpedited, Poller: d.poller}
	rc.Certs = d.certs
	rc.Events = sink
	rc.Logger = log
	rc.Handshakes = crypto.NewHandshakeLimiter(maxHandshakes, maxHandshakesPerSource)
	if d.relay, err = relay.New(rc); err != nil {
		return nil, err
	}
	// A call the log cannot record is not taken (documented policy: the
	// call log is never silently stopped).
	d.relay.SetAdmission(func() error {
		if !d.audit.Healthy() {
			return fmt.Errorf("call log unwritable: %v", d.audit.Err())
		}
		return nil
	})
	d.ng = ng.NewServer(d.relay, ng.Config{Allow: cfg.NGAllow, Logger: log, Events: sink})

	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.serve(func() error { memoryHousekeeping(ctx); return nil })
	ngAddr, err := listenAddr("--listen-ng", cfg.ListenNG, true)
	if err != nil {
		return nil, err
	}
	if d.ngUDP, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(ngAddr)); err != nil {
		return nil, fmt.Errorf("--listen-ng: %w", err)
	}
	d.serve(func() error { return d.ng.ServeUDP(ctx, d.ngUDP) })
	if cfg.ListenTCPNG != "" {
		if d.ngTCP, err = net.Listen("tcp", cfg.ListenTCPNG); err != nil {
			return nil, fmt.Errorf("--listen-tcp-ng: %w", err)
		}
		d.serve(func() error { return d.ng.ServeTCP(ctx, d.ngTCP) })
	}
	if cfg.ListenHTTP != "" {
		token, err := readToken(cfg.HTTPTokenFile)
		if err != nil {
			return nil, err
		}
		if d.httpLn, err = net.Listen("tcp", cfg.ListenHTTP); err != nil {
			return nil, fmt.Errorf("--listen-http: %w", err)
		}
		d.http = newHTTPServer(d.httpHandler(d.metricsHandler(), token))
		d.serve(func() error {
			if err := d.http.Serve(d.httpLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	if err := d.audit.Startup(version, configDigest(cfg), d.certs.Current().Fingerprint().String()); err != nil {
		return nil, fmt.Errorf("call log: %w", err)
	}
	log.Info("srtpgw started", "version", version, "ng", d.ngUDP.LocalAddr().String(),
		"http", cfg.ListenHTTP, "interfaces", fmt.Sprint(cfg.Interfaces), "ports", fmt.Sprintf("%d-%d", cfg.PortMin, cfg.PortMax),
		"audit_log", cfg.AuditLog)
	return d, nil
}

func (d *daemon) serve(fn func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
			d.log.Error("listener stopped", "err", err)
		}
	}()
}

// ready reports whether the daemon can take calls: listeners bound (they
// are, once startDaemon returned), certificate loaded, call log writable,
// not shutting down.
func (d *daemon) ready() error {
	switch {
	case d.draining.Load():
		return errors.New("shutting down")
	case d.certs == nil || d.certs.Current() == nil:
		return errors.New("no DTLS certificate")
	case !d.audit.Healthy():
		return fmt.Errorf("call log unwritable: %v", d.audit.Err())
	}
	return nil
}

// shutdown stops taking offers, ends every call so that its call_end record
// and counters are final, closes the listeners, and signs and closes the
// call log.
func (d *daemon) shutdown(reason string) {
	d.stopOnce.Do(func() {
		d.draining.Store(true)
		d.log.Info("shutting down", "reason", reason, "grace", d.cfg.ShutdownGrace)
		d.relay.Drain()
		// Offers now get load limit (Kamailio moves them to another
		// gateway); live calls may finish on their own within the grace.
		for deadline := time.Now().Add(d.cfg.ShutdownGrace); time.Now().Before(deadline); {
			if d.relay.Statistics().CurrentSessions == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		d.relay.Close()
		d.closeAll()
		if err := d.audit.Shutdown(reason); err != nil {
			d.log.Error("closing the call log", "err", err)
		}
		d.log.Info("srtpgw stopped")
	})
}

// closeAll stops listeners and goroutines; safe on a half-started daemon.
func (d *daemon) closeAll() {
	if d.cancel != nil {
		d.cancel()
	}
	if d.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		d.http.Shutdown(ctx)
		cancel()
	} else if d.httpLn != nil {
		d.httpLn.Close()
	}
	if d.ngUDP != nil {
		d.ngUDP.Close()
	}
	if d.ngTCP != nil {
		d.ngTCP.Close()
	}
	d.wg.Wait()
	if d.relay != nil {
		d.relay.Close()
	}
	if d.poller != nil {
		d.poller.Close() // after the relay: every socket is closed by now
		d.poller = nil
	}
}

// openAudit opens the call log, creating its directory (0700: it holds
// the parties of every call) and keys next to it unless given.
func openAudit(cfg Config, log *slog.Logger) (*audit.Log, error) {
	dir := filepath.Dir(cfg.AuditLog)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("call log directory: %w", err)
	}
	key := cfg.AuditKey
	if key == "" {
		key = filepath.Join(dir, "audit.key")
	}
	redact := ""
	if cfg.AuditRedact {
		redact = cfg.AuditRedactKey
		if redact == "" {
			redact = filepath.Join(dir, "audit-redact.key")
		}
	}
	l, err := audit.Open(audit.Config{
		Path:            cfg.AuditLog,
		KeyPath:         key,
		RedactKeyPath:   redact,
		CheckpointEvery: cfg.AuditCheckpoint,
		RotateSize:      cfg.AuditRotateBytes,
		RotateDaily:     true,
		Logger:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("call log %s: %w", cfg.AuditLog, err)
	}
	return l, nil
}

// configDigest identifies the effective configuration in startup records,
// so an auditor can tell when it changed. The config holds paths and
// settings only, never key material.
func configDigest(cfg Config) string {
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
