#!/usr/bin/env bash
# bench/smoke.sh: the CI smoke test of the media path under load. Builds and
# starts srtpgw on loopback, drives 20 DTLS-SRTP calls for 5 s with
# bench/cmd/srtpgw-load -assert-no-loss, stops srtpgw. Exits non-zero on any
# lost packet, failed setup or delete, or SRTP authentication failure.
# About 15 s; loopback only; srtpgw is stopped on every exit path.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
NG=${SMOKE_NG:-127.0.0.1:2263}
TMP=$(mktemp -d /tmp/srtpgw-smoke.XXXXXX)
PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

"$GO" build -o "$TMP/srtpgw" ./cmd/srtpgw || exit 1
"$GO" build -o "$TMP/srtpgw-load" ./bench/cmd/srtpgw-load || exit 1
"$TMP/srtpgw" --interface lan/127.0.0.2 --interface wan/127.0.0.3 --listen-ng "$NG" \
	--port-min 36000 --port-max 36999 --timeout 60 --audit-log "$TMP/audit.jsonl" --listen-http "" \
	>"$TMP/srtpgw.log" 2>&1 &
PID=$!
if ! "$TMP/srtpgw-load" ping -ng "$NG" -wait 10s; then
	echo "smoke: srtpgw did not answer ng on $NG:" >&2
	tail -20 "$TMP/srtpgw.log" >&2
	exit 1
fi
"$TMP/srtpgw-load" -label srtpgw -ng "$NG" -pid "$PID" -direction lan,wan -phone-port-base 46000 \
	-calls 20 -duration 5s -quiet -assert-no-loss
rc=$?
if [ $rc -ne 0 ]; then
	echo "smoke: FAILED (exit $rc); srtpgw log tail:" >&2
	tail -20 "$TMP/srtpgw.log" >&2
else
	echo "smoke: 1 passed, 0 failed"
fi
exit $rc
