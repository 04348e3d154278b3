// Package ng is srtpgw's control plane: rtpengine's "ng" protocol, so that
// an unmodified Kamailio or OpenSIPS rtpengine module can put srtpgw into
// the media path (/work/shared/ng-protocol.md is the wire reference).
//
// A request is `<cookie> <dictionary>`; the dictionary is bencode or JSON
// and the reply comes back in the same encoding with the cookie echoed.
// The pieces, one per file:
//
//   - value.go, bencode.go, json.go: the codec, bounded and fuzzed.
//   - server.go: Config, Handle (framing, allowlist, cache, dispatch),
//     logging; udp.go and tcp.go are read loops around Handle.
//   - cache.go: the retransmission cache keyed by (sender, cookie).
//   - commands.go: the command table and which commands are disabled by
//     policy; request.go and flags.go: ng keys and flags to relay.Request.
//   - errors.go: every error text, and the one mapping from relay errors.
//   - render.go: query/delete/statistics replies, kept under the MTU.
//   - stats.go, ratelimit.go, redact.go: counters, rate limits, and the
//     redaction of key material from debug dumps.
//
// ng has no authentication. The server answers only clients in
// Config.Allow (loopback by default) and never offers a command that
// copies or injects media.
package ng
