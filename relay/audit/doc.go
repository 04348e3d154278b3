// Package audit is srtpgw's tamper-evident call log (DESIGN.md §6,
// security-requirements.md L1–L3): an append-only JSON Lines file of call
// and security events, linked by a SHA-256 hash chain and signed at
// intervals with Ed25519 checkpoints, plus its verifier.
//
// The daemon opens one Log at start (Open also closes calls a crashed
// predecessor left open), calls the event methods as calls come and go,
// watches Healthy for readiness, and calls Shutdown last. Auditors run
// Verify (or `srtpgw audit verify`, RunVerifyCLI) with the public key.
//
// The record format, durability policy and the exact verification rules
// with their limits are in FORMAT.md beside this file.
//
// This package depends only on the standard library; it does not import
// relay or crypto, so the event types here are its own, and cmd/ maps the
// relay's call model onto them.
package audit
