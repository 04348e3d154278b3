#!/usr/bin/env bash
# bench/setup-cost.sh: CPU a relay spends per call setup, srtpgw and
# rtpengine (userspace) side by side in one run.
#
# Each relay is started fresh and alone, then bench/cmd/srtpgw-load sets up
# CALLS calls (offer, answer, DTLS handshake), relays 1 s of media both ways
# and deletes them. The relay's utime+stime over that window, divided by
# CALLS, is its CPU per call; the 1 s of media is also subtracted at the
# relay's own measured µs per packet range, so the per-setup figure is shown
# as a bound. Loopback only; each relay is stopped before the next starts.
#
# Usage: bench/setup-cost.sh     Env: CALLS=400 ROUNDS=3
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
CALLS=${CALLS:-400}
ROUNDS=${ROUNDS:-3}
NG=127.0.0.1:2298
TMP=$(mktemp -d /tmp/srtpgw-setup.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill -TERM $PID 2>/dev/null; rm -rf "$TMP"' EXIT

"$GO" build -o "$TMP/" ./bench/cmd/srtpgw-load ./cmd/srtpgw || exit 1
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $("$GO" version)"

run() { # run KIND: one round against a fresh relay
	local kind=$1
	case $kind in
	srtpgw) "$TMP/srtpgw" --interface lan/127.0.0.2 --interface wan/127.0.0.3 --listen-ng $NG \
		--port-min 20000 --port-max 29999 --listen-http "" --audit-log "$TMP/audit.jsonl" \
		--log-level warn >"$TMP/relay.log" 2>&1 & ;;
	rtpengine) rtpengine --config-file=none --table=-1 --foreground --log-stderr --log-level=4 \
		--interface=lan/127.0.0.2 --interface=wan/127.0.0.3 --listen-ng=$NG \
		--port-min=40000 --port-max=49999 --timeout=60 >"$TMP/relay.log" 2>&1 & ;;
	esac
	PID=$!
	sleep 1.5
	local a b
	a=$(awk '{print $14+$15}' /proc/$PID/stat)
	"$TMP/srtpgw-load" -ng $NG -pid $PID -direction lan,wan -calls "$CALLS" -duration 1s \
		-json "$TMP/r.json" -quiet >/dev/null 2>&1 || echo "$kind: load tool failed" >&2
	b=$(awk '{print $14+$15}' /proc/$PID/stat)
	kill -TERM $PID; wait $PID 2>/dev/null; PID=""
	python3 - "$kind" "$a" "$b" "$(getconf CLK_TCK)" "$CALLS" "$TMP/r.json" <<'PY'
import json, sys
kind, a, b, tck, calls, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
s = json.load(open(path))['steps'][0]
pkts = s['up']['delivered'] + s['down']['delivered']
total = (b - a) / tck
us = s['relay_cpu']['us_per_pkt']
print('%-9s %.2f s CPU for %d setups+deletes and %d media packets: %.0f µs/call with media, '
      '%.0f µs/call without (media at %.1f µs/pkt); setup rate %.0f/s, p50 %.1f ms, other CPU %.0f%%'
      % (kind, total, calls, pkts, total * 1e6 / calls, (total - pkts * us * 1e-6) * 1e6 / calls, us,
         s['setup']['rate_per_sec'], s['setup']['p50_ms'], s['other_cpu_pct']))
PY
}

for i in $(seq "$ROUNDS"); do
	command -v rtpengine >/dev/null && run rtpengine
	run srtpgw
done
