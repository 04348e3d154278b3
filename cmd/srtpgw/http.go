package main

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// httpHandler serves /metrics, /healthz and /readyz. With a token file, every
// path needs "Authorization: Bearer <token>" (security requirement C5: the
// metrics endpoint is never open on a network without access control).
func (d *daemon) httpHandler(metrics http.Handler, token []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := d.ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	if len(token) == 0 {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="srtpgw"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// readToken loads the bearer token; it must be long enough to resist
// guessing and not readable by others.
func readToken(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// Group read is allowed: Kubernetes mounts Secrets 0440 under fsGroup
	// (kubernetes#57923); others must have no access, and nobody but the
	// owner may write.
	if fi.Mode().Perm()&0o027 != 0 {
		return nil, fmt.Errorf("--http-token-file %s is accessible to others or group-writable (mode %v): chmod 600 (or 640) it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tok := []byte(strings.TrimSpace(string(b)))
	if len(tok) < 16 {
		return nil, errors.New("--http-token-file holds fewer than 16 characters")
	}
	return tok, nil
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
}
