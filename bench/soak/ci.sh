#!/usr/bin/env bash
# bench/soak/ci.sh: the 60 s CI version of the soak. Builds srtpgw, keeps
# 100 calls churning (each 5-30 s) for 60 s on loopback, then checks that no
# packet of a live call was lost and that goroutines, fds and heap are back
# near their baseline once every call has ended and the port quarantine has
# passed (the ng reply cache is allowed for instead of waited out). Writes
# the curve to $SOAK_MD (default: a temp file, printed). About 90 s.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
TMP=$(mktemp -d /tmp/srtpgw-soak-ci.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
MD=${SOAK_MD:-$TMP/SOAK-ci.md}

"$GO" build -o "$TMP/srtpgw" ./cmd/srtpgw || exit 1
"$GO" build -o "$TMP/soak" ./bench/soak || exit 1
"$TMP/soak" -bin "$TMP/srtpgw" -calls 100 -duration 60s -sample 10s -settle-cache=false \
	-port-min 37000 -port-max 38999 -md "$MD"
rc=$?
if [ -z "${SOAK_MD:-}" ]; then cat "$MD" 2>/dev/null; fi
exit $rc
