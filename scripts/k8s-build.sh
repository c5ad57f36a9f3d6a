#!/usr/bin/env bash
# Builds, once, the binaries scripts/k8s-testenv.sh runs: kube-apiserver,
# kube-controller-manager and kube-scheduler (module scripts/k8s/kube), etcd
# (scripts/k8s/etcd) and kwok (scripts/k8s/kwok), all through the Go module
# proxy, into ${NONSTOP_K8S_CACHE:-/var/cache/nonstop/k8s}/bin.
#
# The cache lives outside the checkout, so a fresh clone (as in CI) reuses it.
# Each of the three groups has a stamp, $CACHE/stamps/<group>: a hash of its
# go.mod, go.sum and build flags. A group whose stamp matches and whose
# binaries exist is skipped, so a run with nothing to do takes well under 1 s.
# A cold build takes about 12 min on 2 cores (kube ~8-10 min, kwok ~3 min,
# etcd ~1 min) and downloads ~2 GB of modules; GOCACHE grows by ~3 GB.
#
# Also installs openssl and curl when missing (Debian, as root): the test
# environment needs both. Writes nothing inside the repository.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${NONSTOP_K8S_CACHE:-/var/cache/nonstop/k8s}"
bin="$cache/bin"
# The Gateway API CRDs that k8s-testenv.sh installs come from the module cache.
gateway_api="sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION:-v1.3.0}"

ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f s", ms / 1000 }'; }
t_all=$(ms)

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "k8s-build: missing ${need[*]}; run as root or install them" >&2
		exit 1
	fi
	echo "k8s-build: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
		apt-get update -qq
		apt-get install -y -qq "${need[@]}" >/dev/null
	fi
fi

mkdir -p "$bin" "$cache/stamps"
# One build at a time per cache: two `make test` runs started together wait
# here, and the second then finds the stamps up to date.
exec 9>"$cache/.build.lock"
if ! flock -n 9; then
	echo "k8s-build: waiting for another k8s-build.sh on $cache" >&2
	flock 9
fi

# The version flags kube-apiserver and friends report (else v0.0.0-master),
# taken from the k8s.io/kubernetes version that scripts/k8s/kube requires.
kube_version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$root/scripts/k8s/kube/go.mod")"
if [ -z "$kube_version" ]; then
	echo "k8s-build: no 'require k8s.io/kubernetes vX' line in scripts/k8s/kube/go.mod" >&2
	exit 1
fi
kube_minor="$(echo "$kube_version" | cut -d. -f2)"
kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$kube_minor -X k8s.io/client-go/pkg/version.gitVersion=$kube_version"

# build <group> <ldflags> <name>=<package>...: builds the group's commands
# with one go build (shared packages compile once, links run in parallel)
# into a temporary directory inside the cache, renames each binary into $bin
# (a running cluster keeps its old files), then writes the stamp.
build() {
	local group=$1 ldflags=$2
	shift 2
	local dir="$root/scripts/k8s/$group" stamp="$cache/stamps/$group" want have=""
	local names=() pkgs=() a n
	for a in "$@"; do names+=("${a%%=*}") && pkgs+=("${a#*=}"); done
	want="$( (cat "$dir/go.mod" "$dir/go.sum" && echo "$ldflags $*") | sha256sum | cut -d' ' -f1)"
	[ -f "$stamp" ] && have="$(cat "$stamp")"
	local missing=0
	for n in "${names[@]}"; do [ -x "$bin/$n" ] || missing=1; done
	if [ "$have" = "$want" ] && [ "$missing" = 0 ]; then
		echo "k8s-build: $group up to date (${names[*]})" >&2
		return
	fi
	echo "k8s-build: building ${names[*]} from scripts/k8s/$group" >&2
	local t0 tmp out
	t0=$(ms)
	tmp="$(mktemp -d "$cache/.build-$group.XXXXXX")"
	# -o: with several packages go names each binary after its package's last
	# path element (the kube commands' names); a single one gets its name.
	out="$tmp/"
	[ ${#pkgs[@]} = 1 ] && out="$tmp/${names[0]}"
	# GOWORK=off, -buildvcs=false and no caller GOFLAGS: the module alone
	# decides what is built, wherever the checkout is.
	if ! (cd "$dir" && GOWORK=off GOFLAGS='' go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out" "${pkgs[@]}"); then
		rm -rf "$tmp"
		echo "k8s-build: building $group failed" >&2
		exit 1
	fi
	for n in "${names[@]}"; do mv -f "$tmp/$n" "$bin/$n"; done
	rm -rf "$tmp"
	echo "$want" >"$stamp"
	echo "k8s-build: $group built in $(secs $(($(ms) - t0)))" >&2
}

build kube "$kube_ldflags" \
	kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
	kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
	kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
build etcd "-s -w" etcd=go.etcd.io/etcd/server/v3
build kwok "-s -w" kwok=sigs.k8s.io/kwok/cmd/kwok

# Fetch the Gateway API module now, so that `k8s-testenv.sh up` finds its
# CRDs in the module cache (about 10 ms once it is there).
(cd "$cache" && GOWORK=off GOFLAGS='' go mod download "$gateway_api")

echo "k8s-build: ok in $(secs $(($(ms) - t_all))) ($bin: kube $kube_version, etcd, kwok; $gateway_api)" >&2
