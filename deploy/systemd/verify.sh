#!/usr/bin/env bash
# verify.sh: check deploy/systemd/srtpgw.service the way CI can, without a
# running systemd (CI and containers have none as PID 1):
#
#  1. `systemd-analyze verify` in a throw-away root that holds the distro's unit
#     directory, the unit and a freshly built srtpgw at /usr/local/bin/srtpgw
#     (verify refuses a unit whose ExecStart binary does not exist). verify
#     exits 0 even on unknown keys or unparsable values, so ANY output fails.
#  2. `systemd-analyze security --offline` on it: prints the exposure table
#     and fails above a threshold (THRESHOLD, in tenths: default 20 = 2.0).
#  3. The seccomp and address-family sandbox against reality: every system
#     call that srtpgw makes, in `srtpgw demo` (DTLS-SRTP call, media, call log)
#     and as a daemon (ng, HTTP /healthz /readyz /metrics, SIGTERM shutdown),
#     traced with strace, must be in the unit's SystemCallFilter= (as this
#     systemd expands the sets), and every socket() family in
#     RestrictAddressFamilies=. Catches a Go or code change that would make
#     the service fail only under systemd.
#
# usage: deploy/systemd/verify.sh    (root or not; installs systemd and strace
#        with apt-get when missing and run as root)
# env:   SRTPGW_BIN=path to test a prebuilt binary; THRESHOLD=exposure limit in tenths
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
unit=${UNIT:-deploy/systemd/srtpgw.service}
threshold=${THRESHOLD:-20} # tenths: 20 = exposure 2.0

die() { echo "verify.sh: $*" >&2; exit 1; }
need() { # need COMMAND DEBIAN-PACKAGE
	command -v "$1" >/dev/null && return
	[ "$(id -u)" -eq 0 ] || die "$1 missing: apt-get install $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need systemd-analyze systemd
need strace strace
need pgrep procps
systemd-analyze --version | sed -n 1p

tmp=$(mktemp -d /tmp/srtpgw-systemd-verify.XXXXXX)
daemon_pid=""
cleanup() {
	# Never leave a traced daemon behind: end srtpgw (strace's child), then strace.
	if [ -n "$daemon_pid" ]; then
		for p in $(pgrep -P "$daemon_pid" || true); do kill -TERM "$p" 2>/dev/null || true; done
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
root=$tmp/root
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
bin=$root/usr/local/bin/srtpgw
if [ -n "${SRTPGW_BIN:-}" ]; then
	install -m 0755 "$SRTPGW_BIN" "$bin"
else
	go build -o "$bin" ./cmd/srtpgw
fi
chmod 0755 "$tmp" "$root" # the traced daemon runs as 65532 below
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$unit" "$root/etc/systemd/system/srtpgw.service"
rootunit=$root/etc/systemd/system/srtpgw.service

echo "== systemd-analyze verify $unit"
out=$(systemd-analyze --root="$root" verify "$rootunit" 2>&1) || die "verify failed: $out"
[ -z "$out" ] || die "verify printed warnings (treated as errors):
$out"
echo "OK: no errors, no warnings"

echo "== systemd-analyze security --offline=yes $unit"
systemd-analyze security --no-pager --offline=yes --root="$root" --threshold="$threshold" "$rootunit" \
	>"$tmp/security.txt" 2>&1 || { cat "$tmp/security.txt"; die "exposure above $threshold tenths"; }
grep -E '^✗' "$tmp/security.txt" || true
grep 'Overall exposure level' "$tmp/security.txt"

echo "== seccomp and address families against traced syscalls"
# expand @SET: the syscalls of a set as this systemd defines it, recursively.
expand() {
	systemd-analyze syscall-filter "$1" | sed -n '3,$p' | tr -d ' ' | grep -Ev '^(#|$)' |
		while read -r x; do
			case $x in @*) expand "$x" ;; *) echo "$x" ;; esac
		done
}
allow="" deny=""
# A value starting with ~ is a deny list as a whole (systemd.exec(5)).
while read -r value; do
	case $value in
	~*) deny="$deny ${value#\~}" ;;
	*) allow="$allow $value" ;;
	esac
done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
[ -n "$allow" ] || die "no allow-list SystemCallFilter= in $unit"
for s in $allow; do expand "$s"; done | sort -u >"$tmp/allow.txt"
for s in $deny; do expand "$s"; done | sort -u >"$tmp/deny.txt"
comm -23 "$tmp/allow.txt" "$tmp/deny.txt" >"$tmp/permitted.txt"
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")

# Traces and the daemon's state are written by the unprivileged user.
mkdir -m 0700 "$tmp/trace" "$tmp/state"
[ "$(id -u)" -ne 0 ] || chown 65532:65532 "$tmp/trace" "$tmp/state"
nonroot=()
[ "$(id -u)" -ne 0 ] || nonroot=(setpriv --reuid=65532 --regid=65532 --clear-groups --)
# The demo: a whole DTLS-SRTP call through an in-process gateway.
"${nonroot[@]}" strace -f -qq -o "$tmp/trace/demo" "$bin" demo --duration 2s >"$tmp/demo.txt" 2>&1 ||
	{ cat "$tmp/demo.txt"; die "srtpgw demo failed under strace"; }
grep -x 'VERDICT: PASS' "$tmp/demo.txt"
# The daemon on its own loopback address: start, probe HTTP, SIGTERM.
state=$tmp/state
addr=127.0.0.91
if "$bin" healthcheck "http://$addr:9323/healthz" 2>/dev/null; then
	die "something already serves $addr:9323 (a leftover srtpgw?)"
fi
# Started directly (no function, no subshell) so that $! is the process that
# execs into strace; srtpgw is strace's child.
"${nonroot[@]}" env -i STATE_DIRECTORY="$state" strace -f -qq -o "$tmp/trace/daemon" "$bin" \
	--interface "lan/$addr" --listen-ng "$addr:2223" --listen-tcp-ng "$addr:2224" \
	--listen-http "$addr:9323" --port-min 45000 --port-max 45099 >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
up=""
for _ in $(seq 50); do
	if "$bin" healthcheck "http://$addr:9323/readyz" 2>/dev/null; then up=1; break; fi
	kill -0 "$daemon_pid" 2>/dev/null || break
	sleep 0.2
done
[ -n "$up" ] || { cat "$tmp/daemon.log"; die "daemon did not become ready"; }
for path in healthz readyz metrics; do
	"$bin" healthcheck "http://$addr:9323/$path" || die "GET /$path failed"
done
# Signal srtpgw itself (SIGTERM to strace would only detach it); strace then
# exits with srtpgw's status.
gw_pid=$(pgrep -P "$daemon_pid" || true)
[ -n "$gw_pid" ] || die "cannot find the srtpgw process under strace ($daemon_pid)"
kill -TERM "$gw_pid"
wait "$daemon_pid" || { cat "$tmp/daemon.log"; die "daemon exited non-zero after SIGTERM"; }
daemon_pid=""
grep -q 'srtpgw stopped' "$tmp/daemon.log" || { cat "$tmp/daemon.log"; die "no clean shutdown in the log"; }
[ -s "$state/audit.jsonl" ] || die "daemon wrote no call log to \$STATE_DIRECTORY/audit.jsonl"
echo "OK: daemon as uid 65532: ready, /healthz /readyz /metrics answered 200, SIGTERM -> exit 0, call log in \$STATE_DIRECTORY"

# strace lines: "PID name(args) = ret" or "PID <... name resumed>...".
cat "$tmp/trace/demo" "$tmp/trace/daemon" |
	sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z0-9_]+) resumed>.*/\1/; s/^([a-z0-9_]+)\(.*/\1/' |
	grep -E '^[a-z0-9_]+$' | grep -vx execve | sort -u >"$tmp/used.txt"
# execve is strace starting the binary; systemd execs before the filter applies.
missing=$(comm -23 "$tmp/used.txt" "$tmp/permitted.txt")
[ -z "$missing" ] || die "syscalls used by srtpgw but blocked by SystemCallFilter=: $(tr '\n' ' ' <<<"$missing")"
echo "OK: $(wc -l <"$tmp/used.txt") distinct syscalls used, all allowed by SystemCallFilter=$allow${deny:+ minus$deny}"
used_families=$(grep -ohE 'socket\(AF_[A-Z0-9]+' "$tmp/trace/demo" "$tmp/trace/daemon" | sed 's/socket(//' | sort -u)
for f in $used_families; do
	grep -qw "$f" <<<"$families" || die "socket($f) used but RestrictAddressFamilies=$families"
done
echo "OK: socket families $(tr '\n' ' ' <<<"$used_families")within RestrictAddressFamilies=$families"
echo "systemd unit verified"
