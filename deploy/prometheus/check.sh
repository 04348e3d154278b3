#!/usr/bin/env bash
# check.sh: validate the Prometheus alert rules, run their unit tests, and
# check the example scrape configuration, with promtool.
#
# promtool comes from, in order: $PROMTOOL, promtool on PATH, or Debian's
# `prometheus` package, unpacked (not installed: installing it would also
# start a Prometheus server) into a cache directory. Debian 12 ships promtool
# 2.42; the rules use nothing newer. To use Prometheus 3's promtool instead:
#   go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0
#   PROMTOOL=~/go/bin/promtool deploy/prometheus/check.sh
set -euo pipefail
cd "$(dirname "$0")"

die() { echo "check.sh: $*" >&2; exit 1; }

promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "$promtool" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/srtpgw/promtool-deb
	promtool=$cache/usr/bin/promtool
	if [ ! -x "$promtool" ]; then
		command -v apt-get >/dev/null || die "no promtool and no apt-get: set PROMTOOL"
		work=$(mktemp -d)
		trap 'rm -rf "$work"' EXIT
		if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
			[ "$(id -u)" -eq 0 ] || die "apt-get download prometheus failed; run apt-get update, or set PROMTOOL"
			apt-get update -qq
			(cd "$work" && apt-get download prometheus >/dev/null)
		fi
		mkdir -p "$cache"
		dpkg-deb -x "$work"/prometheus_*.deb "$cache"
	fi
fi
"$promtool" --version 2>&1 | sed -n 1p

echo "== promtool check rules srtpgw.rules.yml"
"$promtool" check rules srtpgw.rules.yml
echo "== promtool test rules srtpgw.rules.test.yml"
"$promtool" test rules srtpgw.rules.test.yml
# --syntax-only: the example's credentials_file exists only on a real server.
echo "== promtool check config --syntax-only prometheus.example.yml"
"$promtool" check config --syntax-only prometheus.example.yml
# The Grafana dashboard's queries, written out as recording rules by
# deploy/deploy_test.go, so that promtool parses every panel's PromQL.
echo "== promtool check rules ../testdata/grafana-exprs.rules.yml (dashboard queries)"
"$promtool" check rules ../testdata/grafana-exprs.rules.yml
