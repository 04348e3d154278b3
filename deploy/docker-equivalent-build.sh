#!/usr/bin/env bash
# docker-equivalent-build.sh: build srtpgw exactly as the Dockerfile does,
# without a Docker engine, and check the result the way the image needs it:
# a static, stripped binary that runs as a non-root user (uid/gid 65532, the
# distroless "nonroot" user) with no shell or libc around it.
#
# The build environment and the `go build` command are NOT written here: they
# are read from the Dockerfile (its `ENV CGO_ENABLED=...` line and its one
# `RUN ... go build ...` line) and run verbatim with /bin/sh, as Docker's RUN
# does. Only the output path /out/srtpgw is redirected to a temporary
# directory. deploy/deploy_test.go checks that --print shows the Dockerfile's
# lines unchanged, and this script checks with `go version -m` that the binary
# carries those flags.
#
# usage: deploy/docker-equivalent-build.sh            build and check (CI)
#        deploy/docker-equivalent-build.sh --print    show what would run
# env:   VERSION (default: git describe, or "dev"), KEEP=dir to keep the binary
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

die() { echo "docker-equivalent-build: $*" >&2; exit 1; }

# dockerfile_line PATTERN: the one Dockerfile line matching PATTERN (ERE).
dockerfile_line() {
	local n
	n=$(grep -cE "$1" Dockerfile || true)
	[ "$n" = 1 ] || die "Dockerfile has $n lines matching /$1/, want exactly 1"
	grep -E "$1" Dockerfile
}

env_line=$(dockerfile_line '^ENV CGO_ENABLED=')
run_line=$(dockerfile_line '^RUN .*go build ')
build_env=${env_line#ENV }
build_cmd=${run_line#RUN }
case "$build_cmd" in
*" -o /out/srtpgw "*) ;;
*) die "the Dockerfile's go build line does not write -o /out/srtpgw" ;;
esac

if [ "${1:-}" = "--print" ]; then
	printf 'env: %s\n' "$build_env"
	printf 'run: %s\n' "$build_cmd"
	exit 0
fi
[ $# -eq 0 ] || die "unknown argument $1 (want --print or nothing)"

for tool in go file ldd readelf setpriv; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
out=$(mktemp -d /tmp/srtpgw-docker-equivalent.XXXXXX)
trap 'rm -rf "$out"' EXIT
# The non-root user must be able to reach and run the binary, as in the image
# (COPY leaves /srtpgw 0755).
chmod 0755 "$out"

echo "== build (Dockerfile's lines, VERSION=$VERSION)"
echo "   ENV $build_env"
echo "   RUN $build_cmd"
# Run in a clean environment like a fresh build stage: only PATH, HOME and
# the Go caches are inherited, then the Dockerfile's ENV, then the ARGs the
# RUN line references (TARGETOS/TARGETARCH are this machine's, as buildx sets
# them for a native build).
# shellcheck disable=SC2086 # build_env is KEY=VALUE words, as Docker's ENV.
env -i PATH="$PATH" HOME="${HOME:-/root}" \
	GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" \
	GOPROXY="$(go env GOPROXY)" GOTOOLCHAIN="$(go env GOTOOLCHAIN)" \
	$build_env \
	TARGETOS="$(go env GOOS)" TARGETARCH="$(go env GOARCH)" VERSION="$VERSION" \
	/bin/sh -c "${build_cmd/ -o \/out\/srtpgw / -o $out/srtpgw }"
bin="$out/srtpgw"
chmod 0755 "$bin"

echo "== static?"
# Outputs are captured first: with pipefail, `cmd | grep -q` can fail on
# SIGPIPE when grep stops reading early.
file_out=$(file "$bin")
echo "$file_out"
grep -q 'statically linked' <<<"$file_out" || die "not statically linked"
if ldd_out=$(ldd "$bin" 2>&1); then
	die "ldd lists shared libraries: $ldd_out"
fi
echo "ldd: $ldd_out"
grep -q 'not a dynamic executable' <<<"$ldd_out" || die "unexpected ldd output"

echo "== build settings embedded in the binary (go version -m)"
settings=$(go version -m "$bin")
grep -E '^\s+build\s' <<<"$settings"
want_setting() {
	grep -qF -- "$1" <<<"$settings" || die "go version -m lacks: $1"
}
want_setting "build	CGO_ENABLED=0"
want_setting "build	-trimpath=true"
# -buildvcs=false leaves no vcs.* settings. Go does not record -ldflags when
# -trimpath is on (golang.org/issue/52372), so each ldflag is checked by its
# effect instead, and an ldflag this script cannot check is an error.
if grep -q 'vcs\.' <<<"$settings"; then die "VCS stamping is on (GOFLAGS=-buildvcs=false missing?)"; fi
ldflags=$(sed -nE 's/.*-ldflags "([^"]*)".*/\1/p' <<<"$build_cmd")
[ -n "$ldflags" ] || die "no -ldflags \"...\" on the Dockerfile's go build line"
want_version=""
set -f # ${VERSION} must not glob
# shellcheck disable=SC2086 # split the flags into words
set -- $ldflags
set +f
while [ $# -gt 0 ]; do
	case "$1" in
	-s) grep -q ', stripped' <<<"$file_out" || die "-s: the binary still has a symbol table" ;;
	-w)
		sections=$(readelf -S "$bin")
		if grep -q '\.z\?debug_' <<<"$sections"; then die "-w: the binary still has DWARF sections"; fi ;;
	-X)
		shift
		# shellcheck disable=SC2016 # the literal ${VERSION} of the Dockerfile
		case "$1" in
		'main.version=${VERSION}') want_version=$VERSION ;;
		*) die "cannot check -X $1" ;;
		esac ;;
	*) die "cannot check ldflag $1" ;;
	esac
	shift
done
[ -n "$want_version" ] || die "-ldflags lacks -X main.version=\${VERSION}"
echo "ldflags $ldflags: stripped, no DWARF, version stamped (checked below)"

echo "== run as uid/gid 65532 (the image's USER)"
as_nonroot() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65532 --regid=65532 --clear-groups -- "$@"
	else
		"$@" # already unprivileged
	fi
}
ver_out=$(as_nonroot "$bin" version)
echo "$ver_out"
grep -qF "srtpgw $want_version " <<<"$ver_out" || die "srtpgw version does not report $want_version"
as_nonroot env TMPDIR=/tmp "$bin" demo | tee "$out/demo.txt"
grep -qx 'VERDICT: PASS' "$out/demo.txt" || die "srtpgw demo did not pass as uid 65532"

if [ -n "${KEEP:-}" ]; then
	cp "$bin" "$KEEP/srtpgw"
	echo "binary kept at $KEEP/srtpgw"
fi
echo "docker-equivalent build OK: static, stripped, flags from the Dockerfile, runs as 65532"
