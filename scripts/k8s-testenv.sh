#!/usr/bin/env bash
# k8s-testenv.sh - a real Kubernetes control plane for nonstop's tests,
# listening on 127.0.0.1 only:
#
#   etcd, kube-apiserver, kube-controller-manager and kube-scheduler, plus kwok,
#   which plays the nodes: pods scheduled on its fake nodes get a Running and
#   Ready status without a kubelet or containers. scripts/k8s-build.sh builds
#   the binaries and fetches the Gateway API module beforehand.
#
# Usage: k8s-testenv.sh up | down | status
#   up      starts everything and waits until it is usable; prints the path of
#           the admin kubeconfig on stdout (and nothing else: progress and
#           errors go to stderr). On failure it stops what it started, prints
#           the end of the logs and keeps $DATA for a look.
#   down    stops everything and removes $DATA (KEEP_DATA=1 keeps it).
#   status  one line per process: its pid and RSS, or "not running".
#
# Environment (defaults in brackets):
#   BIN             the binaries [${NONSTOP_K8S_CACHE:-/var/cache/nonstop/k8s}/bin],
#                   built by scripts/k8s-build.sh
#   DATA            state: certs, keys, logs, pids, etcd data [$NONSTOP_K8S_CACHE/data/env]
#   ETCD_PORT       etcd client port [2379]
#   ETCD_PEER_PORT  etcd peer port [ETCD_PORT+1]
#   API_PORT        kube-apiserver port [6443]
#                   (distinct DATA and ports let several clusters run side by side)
#   NODES           how many fake nodes [2]
#   TOKEN           the admin bearer token (group system:masters) [test-admin-token]
#   GATEWAY_API_VERSION  the sigs.k8s.io/gateway-api module whose standard CRDs
#                   are installed [v1.3.0]; GATEWAY_API=0 installs none
#   OWNER_PID       if set, a watchdog runs `down` once that process has exited
#                   (so a killed test run leaves nothing behind)
#
# The cluster after `up`:
#   - kubeconfig $DATA/admin.kubeconfig: server https://127.0.0.1:$API_PORT,
#     certificate-authority $DATA/certs/apiserver.crt (the apiserver's
#     self-signed cert), token $TOKEN.
#   - nodes kwok-node-0 .. kwok-node-$((NODES-1)), labelled type=kwok;
#     kwok-node-0 also carries nonstop.dev/build=true (where build Jobs go).
#   - pods labelled kwok.test/not-ready=true run but never turn Ready (a
#     rollout that fails its readiness); pods of a Job complete (Succeeded).
#     kwok's stages that do this: scripts/k8s/kwok/stages.yaml.
#   - the Gateway API standard CRDs (GatewayClass, Gateway, HTTPRoute,
#     GRPCRoute, ReferenceGrant), Established.
# Needs curl and openssl; `go` only to locate the Gateway API module.
set -euo pipefail

CACHE=${NONSTOP_K8S_CACHE:-/var/cache/nonstop/k8s}
BIN=${BIN:-$CACHE/bin}
DATA=${DATA:-$CACHE/data/env}
case $DATA in /*) ;; *) DATA=$PWD/$DATA ;; esac # the kubeconfig names files in it
ETCD_PORT=${ETCD_PORT:-2379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-$((ETCD_PORT + 1))}
API_PORT=${API_PORT:-6443}
NODES=${NODES:-2}
TOKEN=${TOKEN:-test-admin-token}
GATEWAY_API_VERSION=${GATEWAY_API_VERSION:-v1.3.0}
API=https://127.0.0.1:$API_PORT
KC=$DATA/admin.kubeconfig
STAGES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/k8s/kwok/stages.yaml
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

ms() { echo $(($(date +%s%N) / 1000000)); }
T0=$(ms)
log() { echo "k8s-testenv: [+$(($(ms) - T0))ms] $*" >&2; }
REASON="a command failed (see above)"
die() {
	REASON="$*"
	log "$*"
	exit 1
}

# start <name> <command...>: runs a component in the background, its output
# in $DATA/logs/<name>.log, its pid in $DATA/pids/<name>. Nothing of the
# caller's stdin/stdout is inherited (a caller reading our stdout gets EOF
# when this script ends, not when the cluster stops).
start() {
	local n=$1
	shift
	"$@" </dev/null >"$DATA/logs/$n.log" 2>&1 &
	echo $! >"$DATA/pids/$n"
}

# api <curl args...>: a request as the admin. -A: the apiserver pretty-prints
# JSON for a curl user agent, and the checks below grep compact JSON.
api() { curl -fsS -A k8s-testenv --cacert "$DATA/certs/apiserver.crt" -H "Authorization: Bearer $TOKEN" "$@"; }

# wait_for <what> <seconds> <command...>: polls every 0.1 s until the command
# succeeds; logs the time it took, or fails after <seconds>.
wait_for() {
	local what=$1 secs=$2
	shift 2
	local end=$(($(ms) + secs * 1000))
	until "$@" >/dev/null 2>&1; do
		[ "$(ms)" -le "$end" ] || die "timeout waiting for $what (logs: $DATA/logs)"
		sleep 0.1
	done
	log "$what"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# alive <pid>: the process exists and is not a zombie. (kill -0 succeeds on
# a zombie, and this machine's init can take many seconds to reap our
# orphans, so a wait on kill -0 would outlast the process itself.)
alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}
running() { [ -f "$DATA/pids/$1" ] && alive "$(cat "$DATA/pids/$1")"; }

# node_json <name> <extra labels>: a Node that kwok manages (by annotation),
# with room for plenty of pods. <extra labels> is "" or `,"k":"v"...`.
node_json() {
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},"labels":{"kubernetes.io/hostname":"%s","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"%s}},"spec":{},"status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110"},"capacity":{"cpu":"32","memory":"256Gi","pods":"110"}}}' "$1" "$1" "$2"
}

# node_schedulable <name>: Ready=True (kwok's heartbeat) and the not-ready
# taint gone (removed by the controller-manager's node-lifecycle controller).
node_schedulable() {
	local j
	j=$(api "$API/api/v1/nodes/$1") || return 1
	grep -q '"type":"Ready","status":"True"' <<<"$j" && ! grep -q '"taints"' <<<"$j"
}

# The Gateway API standard CRDs, from the module cache (scripts/k8s-build.sh
# downloads the module; `go mod download` is then a local lookup).
gateway_crd_dir() {
	local dir
	dir=$(cd "$DATA" && GOWORK=off GOFLAGS='' go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || return 1
	echo "$dir/config/crd/standard"
}

# install_crd <file>: POSTs one CRD as YAML (the apiserver decodes
# application/yaml); an existing one (a reused $DATA) is fine.
install_crd() {
	local code
	code=$(curl -sS -o "$DATA/logs/crd-response.json" -w '%{http_code}' -A k8s-testenv \
		--cacert "$DATA/certs/apiserver.crt" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/yaml' --data-binary "@$1" \
		"$API/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
	case $code in
	201 | 409) ;;
	*) die "installing CRD $(basename "$1"): HTTP $code: $(head -c 500 "$DATA/logs/crd-response.json")" ;;
	esac
}

# (The checks grep a variable, not a pipe from curl: grep -q quitting early
# would make curl fail with SIGPIPE, and pipefail the check.)
crd_established() {
	local j
	j=$(api "$API/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$1") || return 1
	grep -q '"type":"Established","status":"True"' <<<"$j"
}

gateway_discoverable() {
	local j
	j=$(api "$API/apis/gateway.networking.k8s.io/v1") || return 1
	grep -q '"name":"httproutes"' <<<"$j"
}

# on_failure: `up`'s exit trap until it succeeds: prints the end of each
# log, stops everything and keeps $DATA.
on_failure() {
	local n
	for n in "${COMPONENTS[@]}"; do
		[ -s "$DATA/logs/$n.log" ] || continue
		echo "---- $DATA/logs/$n.log (last lines)" >&2
		tail -n 10 "$DATA/logs/$n.log" >&2
	done
	KEEP_DATA=1 down
	log "up failed: $REASON; all stopped, logs kept in $DATA/logs"
}

up() {
	local b n i
	for b in "$BIN/etcd" "$BIN/kube-apiserver" "$BIN/kube-controller-manager" "$BIN/kube-scheduler" "$BIN/kwok"; do
		[ -x "$b" ] || die "missing binary $b: run scripts/k8s-build.sh (or make test, which builds it)"
	done
	[ -f "$STAGES" ] || die "missing $STAGES"
	for b in curl openssl; do command -v $b >/dev/null || die "missing $b: run scripts/k8s-build.sh (it installs it)"; done
	for n in "${COMPONENTS[@]}"; do running "$n" && die "already up ($n pid $(cat "$DATA/pids/$n")); run down first"; done
	for b in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT"; do
		port_free "$b" || die "port 127.0.0.1:$b is in use (set ETCD_PORT, ETCD_PEER_PORT, API_PORT)"
	done
	mkdir -p "$DATA"/{pki,certs,logs,pids,etcd,flexvolume}
	trap on_failure EXIT

	# Service-account signing key, and the admin's static token.
	if [ ! -f "$DATA/pki/sa.key" ]; then
		openssl genrsa -out "$DATA/pki/sa.key" 2048 2>/dev/null
		openssl rsa -in "$DATA/pki/sa.key" -pubout -out "$DATA/pki/sa.pub" 2>/dev/null
	fi
	echo "$TOKEN,admin,admin,system:masters" >"$DATA/pki/tokens.csv"

	# --unsafe-no-fsync: test data, speed over durability.
	start etcd "$BIN/etcd" --name=k8stest --data-dir="$DATA/etcd" --unsafe-no-fsync=true \
		--listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster="k8stest=http://127.0.0.1:$ETCD_PEER_PORT"
	if [ -n "${OWNER_PID:-}" ]; then
		# The watchdog: `down` once the owner (a test binary) is gone.
		(
			while alive "$OWNER_PID"; do sleep 1; done
			down
		) </dev/null >/dev/null 2>&1 &
		echo $! >"$DATA/pids/watchdog"
	fi
	wait_for "etcd healthy" 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

	# --cert-dir: the apiserver writes a self-signed serving cert for
	# 127.0.0.1 and localhost there; clients trust it as their CA.
	# --endpoint-reconciler-type=none: else it complains every 10 s that
	# 127.0.0.1 may not be in the loopback range of the kubernetes Service.
	start kube-apiserver "$BIN/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$ETCD_PORT" \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
		--cert-dir="$DATA/certs" \
		--token-auth-file="$DATA/pki/tokens.csv" --authorization-mode=RBAC \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$DATA/pki/sa.pub" --service-account-signing-key-file="$DATA/pki/sa.key" \
		--service-cluster-ip-range=10.96.0.0/16 --allow-privileged=true \
		--endpoint-reconciler-type=none
	wait_for "apiserver cert written" 30 test -s "$DATA/certs/apiserver.crt"
	wait_for "apiserver /readyz" 60 api "$API/readyz"

	cat >"$KC" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$API", certificate-authority: "$DATA/certs/apiserver.crt"}
users:
- name: admin
  user: {token: "$TOKEN"}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
EOF
	# --secure-port=0 (both): no health/metrics listener, so several clusters
	# can run side by side. --flex-volume-plugin-dir: else the
	# controller-manager creates /usr/libexec/kubernetes/... on the host.
	# --node-monitor-period=1s: the new nodes lose their not-ready taint
	# within a second instead of five.
	start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$KC" --leader-elect=false \
		--secure-port=0 --controllers='*' --service-account-private-key-file="$DATA/pki/sa.key" \
		--root-ca-file="$DATA/certs/apiserver.crt" --flex-volume-plugin-dir="$DATA/flexvolume" \
		--node-monitor-period=1s
	# The scheduler is required: kwok does not schedule.
	start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$KC" --leader-elect=false --secure-port=0
	# kwok opens no port (no --server-address). Its fake pod and node IPs
	# come from TEST-NET-1 (192.0.2.0/24, RFC 5737), assigned to no host,
	# so that a client that follows them (nonstop's proxy on the "pod
	# network") can never reach a real machine. Its pod stages:
	# scripts/k8s/kwok/stages.yaml.
	start kwok "$BIN/kwok" --kubeconfig="$KC" --config="$STAGES" \
		--cidr=192.0.2.1/24 --node-ip=192.0.2.254 \
		--manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
		--node-lease-duration-seconds=40

	for i in $(seq 0 $((NODES - 1))); do
		local labels=""
		[ "$i" = 0 ] && labels=',"nonstop.dev/build":"true"'
		api -X POST -H 'Content-Type: application/json' "$API/api/v1/nodes" \
			-d "$(node_json "kwok-node-$i" "$labels")" >/dev/null
	done
	local crds=()
	if [ "${GATEWAY_API:-1}" != 0 ]; then
		local f dir
		if ! dir=$(gateway_crd_dir) || [ ! -d "$dir" ]; then
			die "no Gateway API $GATEWAY_API_VERSION CRDs in the module cache (run scripts/k8s-build.sh)"
		fi
		for f in "$dir"/*.yaml; do
			install_crd "$f"
			crds+=("$(sed -n 's/^  name: //p' "$f" | head -n 1)")
		done
		log "Gateway API $GATEWAY_API_VERSION CRDs posted (${#crds[@]})"
	fi

	wait_for "default ServiceAccount created" 60 api "$API/api/v1/namespaces/default/serviceaccounts/default"
	for i in $(seq 0 $((NODES - 1))); do wait_for "kwok-node-$i Ready, untainted" 60 node_schedulable "kwok-node-$i"; done
	for n in "${crds[@]}"; do wait_for "CRD $n Established" 60 crd_established "$n"; done
	if ((${#crds[@]})); then
		# Established, and in discovery (what clients map kinds through).
		wait_for "gateway.networking.k8s.io/v1 discoverable" 60 gateway_discoverable
	fi
	trap - EXIT
	log "up: export KUBECONFIG=$KC"
	echo "$KC"
}

# down: SIGTERM to every process at once (test state needs no orderly
# shutdown), up to 5 s for them to exit, then SIGKILL for the rest.
down() {
	local n p pids=()
	for n in watchdog kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
		[ -f "$DATA/pids/$n" ] || continue
		p=$(cat "$DATA/pids/$n")
		rm -f "$DATA/pids/$n"
		# The watchdog runs this very function once its owner is gone.
		[ "$p" = "${BASHPID:-}" ] && continue
		kill "$p" 2>/dev/null && pids+=("$p")
	done
	for _ in $(seq 1 100); do
		n=0
		for p in "${pids[@]}"; do alive "$p" && n=1; done
		[ "$n" = 0 ] && break
		sleep 0.05
	done
	for p in "${pids[@]}"; do alive "$p" && kill -9 "$p" 2>/dev/null; done
	[ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$DATA"
}

status() {
	local n p
	for n in "${COMPONENTS[@]}"; do
		if running "$n"; then
			p=$(cat "$DATA/pids/$n")
			echo "$n pid=$p rss=$(($(ps -o rss= -p "$p") / 1024))MB"
		else
			echo "$n not running"
		fi
	done
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
	echo "usage: $0 up|down|status  (see the comment at the top)" >&2
	exit 2
	;;
esac
