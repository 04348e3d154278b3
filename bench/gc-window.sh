#!/usr/bin/env bash
# bench/gc-window.sh: how many garbage collections srtpgw runs in a 60 s
# window while it relays CALLS steady calls, read from the daemon's own
# go_gc_duration_seconds_count on /metrics (loopback) before and after the
# window, with the load tool's per-packet CPU, loss, latency and memory for
# the same run. srtpgw allocates nothing per packet (TestHandleZeroAllocs),
# so the collections it does run come from call setup and housekeeping.
#
# Usage: bench/gc-window.sh      Env: CALLS=400 WINDOW=60
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
CALLS=${CALLS:-400}
WINDOW=${WINDOW:-60}
NG=127.0.0.1:2297
HTTP=127.0.0.1:9397
TMP=$(mktemp -d /tmp/srtpgw-gc.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill -TERM $PID 2>/dev/null; rm -rf "$TMP"' EXIT

"$GO" build -o "$TMP/" ./bench/cmd/srtpgw-load ./cmd/srtpgw || exit 1
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $("$GO" version)"
"$TMP/srtpgw" --interface lan/127.0.0.2 --interface wan/127.0.0.3 --listen-ng $NG \
	--port-min 20000 --port-max 29999 --listen-http $HTTP --audit-log "$TMP/audit.jsonl" \
	--log-level warn >"$TMP/relay.log" 2>&1 &
PID=$!
sleep 1
metric() { curl -fsS "http://$HTTP/metrics" | awk -v m="$1" '$1 == m {printf "%.0f\n", $2}'; }
# Setup takes a few seconds at 400 calls; the window starts after it.
"$TMP/srtpgw-load" -ng $NG -pid $PID -direction lan,wan -calls "$CALLS" -duration $((WINDOW + 15))s \
	-json "$TMP/r.json" -quiet >/dev/null 2>&1 &
LOAD=$!
sleep 8
a=$(metric go_gc_duration_seconds_count)
aa=$(metric go_memstats_alloc_bytes_total)
sleep "$WINDOW"
b=$(metric go_gc_duration_seconds_count)
bb=$(metric go_memstats_alloc_bytes_total)
wait $LOAD || echo "load tool failed" >&2
echo "GC cycles in ${WINDOW} s at $CALLS calls: $((b - a)) (go_gc_duration_seconds_count $a -> $b); allocated $(((bb - aa) / 1024)) KiB in the window"
python3 - "$TMP/r.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))['steps'][0]
print('relay %.2f µs/pkt, loss %g%%/%g%%, p99 %.0f/%.0f µs, %.1f KB RSS per call, other CPU %.0f%%'
      % (s['relay_cpu']['us_per_pkt'], s['up']['loss_pct'], s['down']['loss_pct'],
         s['up']['lat_p99_us'], s['down']['lat_p99_us'], s['mem_per_call_kb'], s['other_cpu_pct']))
PY
