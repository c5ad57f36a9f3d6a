#!/usr/bin/env bash
# Compares nonstop's proxy with nginx, haproxy, caddy and no proxy at all,
# on this machine, in one run, over 127.0.0.1 (see bench/proxybench):
#
#   bench/run.sh [proxybench flags] [throughput|switch|all]
#   BASE=REV bench/run.sh ...             # also an earlier nonstop, as nonstop-base
#   bench/run.sh -h                       # the flags
#
# It installs what is missing from Debian's packages (apt-get update only
# when an install needs it), builds nonstop and the harness into a temporary
# folder, and runs the harness, which starts, bounds in time and stops every
# process it needs, also on Ctrl-C or failure. The tables go to stdout,
# progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# command:package pairs. nginx-light is enough (upstream keepalive is core).
need=()
for pair in nginx:nginx-light haproxy:haproxy caddy:caddy wrk:wrk hey:hey; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if ((${#need[@]})); then
	echo "run.sh: installing ${need[*]} from Debian's packages" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	if ! $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
		$sudo apt-get update -qq
		$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
fi

# The revision measured, for the report (read-only git).
rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
GIT_OPTIONAL_LOCKS=0 git diff --quiet HEAD -- cmd internal 2>/dev/null || rev="$rev with uncommitted changes"

tmp="$(mktemp -d -t nonstop-bench-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/nonstop" ./cmd/nonstop
go build -o "$tmp/proxybench" ./bench/proxybench
# BASE=REV measures that earlier revision's nonstop beside this one (peer
# nonstop-base), built from a temporary worktree.
base=()
if [ -n "${BASE:-}" ]; then
	git worktree add -q --detach "$tmp/base" "$BASE"
	(cd "$tmp/base" && go build -o "$tmp/nonstop-base" ./cmd/nonstop)
	git worktree remove --force "$tmp/base"
	base=(-nonstop-base "$tmp/nonstop-base")
	rev="$rev (base: $(git rev-parse --short "$BASE"))"
fi
"$tmp/proxybench" -nonstop "$tmp/nonstop" "${base[@]}" -nonstop-rev "$rev" -command "${BASE:+BASE=$BASE }bench/run.sh $*" "$@"
