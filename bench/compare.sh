#!/usr/bin/env bash
# bench/compare.sh: srtpgw, rtpengine (userspace) and the bare UDP forwarder
# side by side, on this machine, in one run, under the same load; writes
# bench/RESULTS.md.
#
# Each relay is started fresh, driven by bench/cmd/srtpgw-load at STEPS
# concurrent calls (DURATION measured per step) and then ramped until loss
# reaches 0.1 % or p99 5 ms (a step that fails while other processes use
# the CPU is measured once more), then stopped before the next one starts, so
# the relays never compete for the CPU. Loopback only; every process this
# script starts is stopped on exit. Bounded: each relay's run is killed
# after RELAY_BUDGET seconds (default 180 s, so under 10 minutes in all).
#
# Usage: bench/compare.sh            (from anywhere in the repository)
# Env:   STEPS=100,200,400 DURATION=20s RAMP_MAX=75s RAMP_DURATION=5s
#        RELAY_BUDGET=180 OUT=bench/RESULTS.md KEEP=1 (keep the temp dir)
#        SRTPGW_NG=127.0.0.1:2223 RTPENGINE_NG=127.0.0.1:2233 FWD_NG=127.0.0.1:2243
#        ONLY="forwarder forwarder-poller forwarder-srtp rtpengine srtpgw srtpgw-ice"
#        (subset, in this order)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
STEPS=${STEPS:-100,200,400}
DURATION=${DURATION:-20s}
RAMP_MAX=${RAMP_MAX:-75s}
RAMP_DURATION=${RAMP_DURATION:-5s}
RELAY_BUDGET=${RELAY_BUDGET:-180}
OUT=${OUT:-$ROOT/bench/RESULTS.md}
SRTPGW_NG=${SRTPGW_NG:-127.0.0.1:2223}
RTPENGINE_NG=${RTPENGINE_NG:-127.0.0.1:2233}
FWD_NG=${FWD_NG:-127.0.0.1:2243}
ONLY=${ONLY:-"forwarder forwarder-poller forwarder-srtp rtpengine srtpgw srtpgw-ice"}
LAN=127.0.0.2
WAN=127.0.0.3

TMP=$(mktemp -d /tmp/srtpgw-compare.XXXXXX)
RELAY_PID=""
COMMANDS=()   # every command that produced a number, for RESULTS.md
NOTES=()      # skipped relays and failures
RESULTS=()    # JSON files, in table order

log() { printf '%s compare: %s\n' "$(date +%T)" "$*" >&2; }

# shellquote ARGS...: the command line as one would type it (quotes only
# where the shell needs them), for RESULTS.md.
shellquote() {
	local a out=()
	for a in "$@"; do
		if [[ -z $a || $a =~ [^A-Za-z0-9_./:=,@+%-] ]]; then
			out+=("'${a//\'/\'\\\'\'}'")
		else
			out+=("$a")
		fi
	done
	printf '%s' "${out[*]}"
}

stop_relay() {
	[ -n "$RELAY_PID" ] || return 0
	if kill -0 "$RELAY_PID" 2>/dev/null; then
		kill -TERM "$RELAY_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$RELAY_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$RELAY_PID" 2>/dev/null
	fi
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=""
}

cleanup() {
	stop_relay
	if [ -n "${KEEP:-}" ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# start_relay LABEL NG CMD...: start a relay in the background, wait for ng.
start_relay() {
	local label=$1 ng=$2
	shift 2
	log "starting $label: $*"
	"$@" >"$TMP/$label.log" 2>&1 &
	RELAY_PID=$!
	COMMANDS+=("$(shellquote "$@") >$label.log 2>&1 &")
	if ! "$TMP/srtpgw-load" ping -ng "$ng" -wait 10s 2>>"$TMP/$label.log"; then
		log "$label did not answer ng ping on $ng; last log lines:"
		tail -5 "$TMP/$label.log" >&2
		NOTES+=("$label: did not start or did not answer ng on $ng (see its log: $(tail -1 "$TMP/$label.log"))")
		stop_relay
		return 1
	fi
}

# drive LABEL NG [load flags...]: the same load for every relay.
drive() {
	local label=$1 ng=$2
	shift 2
	local cmd=("$TMP/srtpgw-load" -label "$label" -ng "$ng" -pid "$RELAY_PID" -direction "lan,wan"
		-calls "$STEPS" -duration "$DURATION" -ramp -ramp-duration "$RAMP_DURATION" -ramp-max-time "$RAMP_MAX"
		-json "$TMP/$label.json" -quiet "$@")
	log "driving $label: ${cmd[*]}"
	# shellcheck disable=SC2016 # a literal $RELAY_PID in the printed command
	COMMANDS+=("$(shellquote "${cmd[@]}" | sed -E 's/-pid [0-9]+/-pid $RELAY_PID/')")
	timeout --signal=INT --kill-after=10 "$RELAY_BUDGET" "${cmd[@]}" >"$TMP/$label.txt" 2>"$TMP/$label.err"
	local rc=$?
	cat "$TMP/$label.txt" >&2
	if [ -s "$TMP/$label.json" ]; then
		RESULTS+=("$TMP/$label.json")
	fi
	if [ $rc -ne 0 ]; then
		NOTES+=("$label: load tool exited $rc: $(tail -1 "$TMP/$label.err")")
	fi
}

log "building into $TMP"
"$GO" build -o "$TMP/srtpgw-load" ./bench/cmd/srtpgw-load || exit 1
"$GO" build -o "$TMP/udp-forwarder" ./bench/cmd/udp-forwarder || exit 1
HAVE_SRTPGW=1
if ! "$GO" build -o "$TMP/srtpgw" ./cmd/srtpgw 2>"$TMP/srtpgw-build.log"; then
	HAVE_SRTPGW=0
	log "SKIPPING srtpgw: ./cmd/srtpgw does not build yet ($(head -3 "$TMP/srtpgw-build.log" | tr '\n' ' '))"
	NOTES+=("srtpgw: skipped, ./cmd/srtpgw did not build: $(head -3 "$TMP/srtpgw-build.log" | tr '\n' ' ')")
fi
RTPENGINE=$(command -v rtpengine || true)
if [ -z "$RTPENGINE" ]; then
	log "SKIPPING rtpengine: not installed (apt-get install rtpengine-daemon)"
	NOTES+=("rtpengine: skipped, not installed (Debian package rtpengine-daemon)")
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
for relay in $ONLY; do
	case $relay in
	forwarder)
		start_relay forwarder "$FWD_NG" "$TMP/udp-forwarder" -listen-ng "$FWD_NG" \
			-interface lan/$LAN -interface wan/$WAN -port-min 50000 -port-max 59999 &&
			drive forwarder "$FWD_NG" -plain-upstream
		;;
	forwarder-poller)
		# The same bare forwarder with srtpgw's socket strategy (batched
		# poller workers): the floor for srtpgw's 1.3x target.
		start_relay forwarder-poller "$FWD_NG" "$TMP/udp-forwarder" -poller -listen-ng "$FWD_NG" \
			-interface lan/$LAN -interface wan/$WAN -port-min 50000 -port-max 59999 &&
			drive forwarder-poller "$FWD_NG" -plain-upstream
		;;
	forwarder-srtp)
		# The keyed forwarder: forwarder-poller plus pion's SRTP transform
		# (srtpgw's crypto.Session) on the upstream leg, keys from the
		# call-id instead of DTLS, nothing else of a relay. The floor of
		# any relay built on pion's SRTP with this socket strategy; a
		# reference point, so measured at the steps without the ramp.
		start_relay forwarder-srtp "$FWD_NG" "$TMP/udp-forwarder" -poller -static-srtp cm80 -listen-ng "$FWD_NG" \
			-interface lan/$LAN -interface wan/$WAN -port-min 50000 -port-max 59999 &&
			drive forwarder-srtp "$FWD_NG" -plain-upstream -static-srtp -ramp=false
		;;
	rtpengine)
		[ -n "$RTPENGINE" ] || continue
		# --config-file=none: ignore /etc/rtpengine/rtpengine.conf (kernel
		# table, other ports). --table=-1: userspace forwarding only.
		start_relay rtpengine "$RTPENGINE_NG" "$RTPENGINE" --config-file=none --table=-1 --foreground \
			--log-stderr --log-level=6 --interface=lan/$LAN --interface=wan/$WAN \
			--listen-ng="$RTPENGINE_NG" --port-min=40000 --port-max=49999 --timeout=60 &&
			drive rtpengine "$RTPENGINE_NG"
		;;
	srtpgw)
		[ $HAVE_SRTPGW = 1 ] || continue
		start_relay srtpgw "$SRTPGW_NG" "$TMP/srtpgw" --interface lan/$LAN --interface wan/$WAN \
			--listen-ng "$SRTPGW_NG" --port-min 30000 --port-max 39999 --timeout 60 \
			--audit-log "$TMP/audit.jsonl" --listen-http "" &&
			drive srtpgw "$SRTPGW_NG"
		;;
	srtpgw-ice)
		# The same srtpgw with WebRTC-style upstreams (ICE=force; each
		# simulated upstream nominates with authenticated STUN checks and
		# keeps consent): what ICE adds per packet and per call.
		[ $HAVE_SRTPGW = 1 ] || continue
		start_relay srtpgw-ice "$SRTPGW_NG" "$TMP/srtpgw" --interface lan/$LAN --interface wan/$WAN \
			--listen-ng "$SRTPGW_NG" --port-min 30000 --port-max 39999 --timeout 60 \
			--audit-log "$TMP/audit-ice.jsonl" --listen-http "" &&
			drive srtpgw-ice "$SRTPGW_NG" -ice
		;;
	*) log "unknown relay $relay" ;;
	esac
	stop_relay
done
ELAPSED=$(($(date +%s) - T0))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

if [ ${#RESULTS[@]} -eq 0 ]; then
	log "no results"
	exit 1
fi

# The first result is the reference of the comparison: rtpengine if it ran.
CMP=()
for f in "${RESULTS[@]}"; do case $f in */rtpengine.json) CMP=("$f") ;; esac; done
for f in "${RESULTS[@]}"; do case $f in */rtpengine.json) ;; *) CMP+=("$f") ;; esac; done

CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
{
	echo "# srtpgw benchmark results"
	echo
	echo "Generated by \`bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') in ${ELAPSED}s."
	echo "Do not edit by hand: rerun the script."
	echo
	echo "## Machine"
	echo
	echo "- CPU: $CPU_MODEL, $(nproc) cores ($(uname -m)), kernel $(uname -r)"
	echo "- Go: $("$GO" version | cut -d' ' -f3-)"
	[ -n "$RTPENGINE" ] && echo "- rtpengine: $("$RTPENGINE" --version 2>&1 | head -1) (userspace, \`--table=-1\`)"
	if [ $HAVE_SRTPGW = 1 ]; then
		echo "- srtpgw: $("$TMP/srtpgw" version 2>/dev/null | head -1) (git $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ', with uncommitted changes'))"
	fi
	echo "- Load average (1/5/15 min) before: $LOAD_START, after: $LOAD_END"
	echo
	echo "## Side by side"
	echo
	echo "Each relay alone on the box, fresh, with the same load: N concurrent calls, each a"
	echo "phone (plain RTP/AVP, G.711, 172-byte packets every 20 ms) and an upstream (DTLS-SRTP,"
	echo "AES128_CM_HMAC_SHA1_80, rtcp-mux; plain RTP for the bare forwarders, SRTP keyed from the"
	echo "call-id instead of DTLS for forwarder-srtp), media both ways, so"
	echo "2 × 50 × N packets/s through the relay. Calls are added between steps, never torn down"
	echo "early. Latency is one-way phone→upstream (up) and upstream→phone (down), including the"
	echo "load tool's own send and receive path. \"relay µs/pkt\" is the relay's utime+stime over"
	echo "the window divided by the packets it delivered (both directions). \"KB/call\" is VmRSS"
	echo "growth over the relay's RSS before the first call, per call. \"other CPU%\" is what"
	echo "the rest of the machine (other processes, steal) used meanwhile: large values mean a"
	echo "noisy step."
	echo
	"$TMP/srtpgw-load" report -md "${CMP[@]}"
	echo
	echo "### Comparison (reference: $(basename "${CMP[0]}" .json))"
	echo
	"$TMP/srtpgw-load" report -compare "${CMP[@]}"
	# The same steps against the forwarders with srtpgw's socket strategy:
	# the bare one (the 1.3x target) and the keyed one (what pion's SRTP
	# transform alone adds to it).
	FWDS=()
	for l in forwarder-poller forwarder-srtp srtpgw srtpgw-ice; do
		[ -s "$TMP/$l.json" ] && FWDS+=("$TMP/$l.json")
	done
	if [ ${#FWDS[@]} -ge 2 ] && [ -s "$TMP/forwarder-poller.json" ]; then
		echo
		echo "### Against the forwarders with srtpgw's socket strategy (reference: forwarder-poller)"
		echo
		"$TMP/srtpgw-load" report -compare "${FWDS[@]}"
	fi
	if [ -s "$TMP/forwarder-srtp.json" ] && [ -s "$TMP/srtpgw.json" ]; then
		echo
		echo "### srtpgw against the keyed forwarder (reference: forwarder-srtp)"
		echo
		"$TMP/srtpgw-load" report -compare "$TMP/forwarder-srtp.json" "$TMP/srtpgw.json"
	fi
	if [ ${#NOTES[@]} -gt 0 ]; then
		echo
		echo "### Problems in this run"
		echo
		for n in "${NOTES[@]}"; do echo "- $n"; done
	fi
	echo
	echo "## Exact commands"
	echo
	echo "Binaries built with \`$GO build -o \$TMP/... ./bench/cmd/srtpgw-load ./bench/cmd/udp-forwarder ./cmd/srtpgw\`."
	echo "Each relay was started, driven, then stopped (SIGTERM) before the next:"
	echo
	echo '```'
	echo "# RELAY_PID is the PID of the relay started just above (\$! in the script)."
	for c in "${COMMANDS[@]}"; do echo "${c//$TMP/\$TMP}"; done
	echo '```'
	echo
	echo "## Reading these numbers"
	echo
	echo "- The load tool runs on the same 2 cores as the relay (its CPU is in the table). Near"
	echo "  saturation the two compete, so the ramp's answer is the limit of *this box running"
	echo "  both*, not of the relay alone."
	echo "- On loopback the kernel delivers a datagram to the receiving socket inside the"
	echo "  sender's sendmsg call, so each process's CPU includes the receive-side kernel work"
	echo "  of what it sends. That is the same for every relay, and the bare forwarder shows"
	echo "  the floor this puts under any relay on this machine."
	echo "- Latency tails here come mostly from CPU scheduling: relay, load tool and whatever"
	echo "  else runs share 2 cores, so p99 near 5 ms at 400-600 calls says as much about the"
	echo "  box as about the relay, and a ramp verdict can move a step between runs. CPU per"
	echo "  relayed packet is the stable figure (within about ±10 % between runs). A ramp step"
	echo "  that fails while other processes use ≥ 20 % CPU is measured once more; both rows"
	echo "  are shown."
	echo "- Setup rate is limited by the load tool's setup concurrency (4: every simulated"
	echo "  upstream shares one IP address); setup time is offer sent to SRTP keys ready."
	# The hand-written analysis (profiles, what was tried) follows the
	# generated tables.
	if [ -f "$ROOT/bench/ANALYSIS.md" ]; then
		echo
		cat "$ROOT/bench/ANALYSIS.md"
	fi
} >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
log "wrote $OUT (${ELAPSED}s)"
