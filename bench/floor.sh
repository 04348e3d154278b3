#!/usr/bin/env bash
# bench/floor.sh: srtpgw against the two forwarders that share its socket
# strategy, interleaved, ROUNDS times, for the 1.3x target of the capacity
# issue:
#   forwarder-poller  the bare forwarder (udp-forwarder -poller)
#   forwarder-srtp    the keyed forwarder: the same plus pion's SRTP
#                     transform (crypto.Session) on the upstream leg, keys
#                     from the call-id; the floor of any relay built on
#                     pion's SRTP with this socket strategy
#   srtpgw            the daemon
# Each round starts each relay fresh, alone on the box, and drives it with
# the same load (CALLS, DURATION per step, no ramp), in this order, so a
# slow minute of a shared VM hits all three of a round alike. compare.sh
# measures each relay once; this repeats the three the ratio depends on
# and prints the medians. Loopback only; bounded by ROUNDS x 3 x ~45 s.
#
# Usage: bench/floor.sh            (from anywhere in the repository)
# Env:   ROUNDS=3 CALLS=200,400 DURATION=15s GCM=1 (AEAD_AES_128_GCM instead
#        of AES128_CM_HMAC_SHA1_80) KEEP=1 (keep the temp dir)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
ROUNDS=${ROUNDS:-3}
CALLS=${CALLS:-200,400}
DURATION=${DURATION:-15s}
NG=127.0.0.1:2253
LAN=127.0.0.2
WAN=127.0.0.3
LOADF=() SPROF=cm80
if [ -n "${GCM:-}" ]; then LOADF=(-gcm) SPROF=gcm; fi

TMP=$(mktemp -d /tmp/srtpgw-floor.XXXXXX)
PID=""
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$GO" build -o "$TMP/srtpgw-load" ./bench/cmd/srtpgw-load &&
	"$GO" build -o "$TMP/udp-forwarder" ./bench/cmd/udp-forwarder &&
	"$GO" build -o "$TMP/srtpgw" ./cmd/srtpgw || exit 1

# run LABEL ROUND "LOAD FLAGS" CMD...: one relay, one round.
run() {
	local label=$1 round=$2 lflags=$3
	shift 3
	"$@" >"$TMP/$label-$round.log" 2>&1 &
	PID=$!
	if ! "$TMP/srtpgw-load" ping -ng $NG -wait 10s 2>>"$TMP/$label-$round.log"; then
		echo "$label did not start: $(tail -1 "$TMP/$label-$round.log")" >&2
		kill $PID
		wait $PID 2>/dev/null
		PID=""
		return 1
	fi
	# shellcheck disable=SC2086 # lflags is a list of flags
	"$TMP/srtpgw-load" -label "$label" -ng $NG -pid $PID -direction lan,wan -calls "$CALLS" \
		-duration "$DURATION" -quiet -json "$TMP/$label-$round.json" $lflags "${LOADF[@]}" \
		>"$TMP/$label-$round.txt" 2>&1 || echo "$label round $round: load tool failed: $(tail -1 "$TMP/$label-$round.txt")" >&2
	kill -TERM $PID
	wait $PID 2>/dev/null
	PID=""
}

FWD=("$TMP/udp-forwarder" -poller -listen-ng "$NG" -interface "lan/$LAN" -interface "wan/$WAN" -port-min 30000 -port-max 39999)
echo "$(date -u '+%F %T') floor.sh: $ROUNDS rounds, calls $CALLS, $DURATION per step, profile $SPROF, git $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')" >&2
for r in $(seq "$ROUNDS"); do
	run forwarder-poller "$r" "-plain-upstream" "${FWD[@]}"
	run forwarder-srtp "$r" "-plain-upstream -static-srtp" "${FWD[@]}" -static-srtp $SPROF
	run srtpgw "$r" "" "$TMP/srtpgw" --interface lan/$LAN --interface wan/$WAN --listen-ng $NG \
		--port-min 30000 --port-max 39999 --timeout 60 --audit-log "$TMP/audit-$r.jsonl" --listen-http ""
	echo "round $r of $ROUNDS done" >&2
done
"$TMP/srtpgw-load" report -floor "$TMP"/*.json
