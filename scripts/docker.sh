#!/usr/bin/env bash
# Installs and starts what the container tests need on a Debian machine, as
# root, once: each step checks first, so running it again changes nothing.
#
#  - Docker Engine (Debian's docker.io), dockerd started in the background
#    when its socket does not answer;
#  - a registry (Debian's docker-registry, distribution v2) on 127.0.0.1
#    with htpasswd auth, its credentials written to $NONSTOP_TEST_REGISTRY_ENV
#    (default /var/lib/nonstop-test/registry.env) for the tests to read.
set -euo pipefail

registry_addr="${NONSTOP_TEST_REGISTRY_ADDR:-127.0.0.1:5055}"
state=/var/lib/nonstop-test
env_file="${NONSTOP_TEST_REGISTRY_ENV:-$state/registry.env}"

if [ "$(id -u)" != 0 ]; then
	echo "docker.sh: the container tests need Docker Engine and a registry; run as root to install them" >&2
	exit 1
fi

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
if ((${#need[@]})); then
	echo "docker.sh: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
	# The package's own registry service (all interfaces, its config) is not ours.
	pkill -x docker-registry 2>/dev/null || true
fi

mkdir -p "$state"
if ! docker version >/dev/null 2>&1; then
	echo "docker.sh: starting dockerd"
	setsid nohup dockerd >"$state/dockerd.log" 2>&1 </dev/null &
	for _ in $(seq 1 60); do
		docker version >/dev/null 2>&1 && break
		sleep 0.5
	done
	docker version >/dev/null 2>&1 || { echo "docker.sh: dockerd did not start; see $state/dockerd.log" >&2; tail -20 "$state/dockerd.log" >&2; exit 1; }
fi

if [ ! -f "$env_file" ]; then
	user=nonstop
	pass="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
	htpasswd -Bbc "$state/registry.htpasswd" "$user" "$pass" >/dev/null 2>&1
	printf 'NONSTOP_TEST_REGISTRY=%s\nNONSTOP_TEST_REGISTRY_USER=%s\nNONSTOP_TEST_REGISTRY_PASSWORD=%s\n' "$registry_addr" "$user" "$pass" >"$env_file"
	chmod 600 "$env_file"
fi
# shellcheck disable=SC1090
. "$env_file"
cat >"$state/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: $NONSTOP_TEST_REGISTRY
auth:
  htpasswd:
    realm: nonstop-test
    path: $state/registry.htpasswd
YAML
if ! curl -fsS -o /dev/null -u "$NONSTOP_TEST_REGISTRY_USER:$NONSTOP_TEST_REGISTRY_PASSWORD" "http://$NONSTOP_TEST_REGISTRY/v2/" 2>/dev/null; then
	echo "docker.sh: starting the registry on $NONSTOP_TEST_REGISTRY"
	setsid nohup docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 </dev/null &
	for _ in $(seq 1 40); do
		curl -fsS -o /dev/null -u "$NONSTOP_TEST_REGISTRY_USER:$NONSTOP_TEST_REGISTRY_PASSWORD" "http://$NONSTOP_TEST_REGISTRY/v2/" 2>/dev/null && break
		sleep 0.25
	done
	curl -fsS -o /dev/null -u "$NONSTOP_TEST_REGISTRY_USER:$NONSTOP_TEST_REGISTRY_PASSWORD" "http://$NONSTOP_TEST_REGISTRY/v2/" ||
		{ echo "docker.sh: the registry did not start; see $state/registry.log" >&2; tail -20 "$state/registry.log" >&2; exit 1; }
fi
echo "docker.sh: ok (docker $(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'), registry $NONSTOP_TEST_REGISTRY, credentials in $env_file)"
