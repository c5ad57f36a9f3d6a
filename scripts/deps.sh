#!/usr/bin/env bash
# Installs what nonstop's test suite needs on a Debian machine, once: each
# step checks first, so a second run does nothing.
set -euo pipefail

need=()
command -v git >/dev/null || need+=(git)
command -v curl >/dev/null || need+=(curl)

if ((${#need[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing ${need[*]}; run as root or install them" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
echo "deps: ok (go $(go env GOVERSION), git $(git --version | cut -d' ' -f3))"
