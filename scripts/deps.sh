#!/usr/bin/env bash
# Installs what nonstop's test suite needs on a Debian machine, once: each
# step checks first, so a second run does nothing.
set -euo pipefail

need=()
command -v git >/dev/null || need+=(git)
command -v curl >/dev/null || need+=(curl)
# The conformance suite (test/e2e/appservers_test.go, internal/proxy's
# appservers_test.go) runs apps on app servers nobody here wrote: Debian's
# python3 and gunicorn, and Node.js.
[ -x /usr/bin/python3 ] || need+=(python3)
command -v gunicorn >/dev/null || need+=(gunicorn)
command -v node >/dev/null || need+=(nodejs)
# Detected sources (test/e2e/detect_test.go): npm installs a Node app's
# dependencies from the registry; a Python app's virtualenv (python3-venv)
# finds Flask among the machine's packages.
command -v npm >/dev/null || need+=(npm)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
/usr/bin/python3 -c 'import flask' 2>/dev/null || need+=(python3-flask)

if ((${#need[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing ${need[*]}; run as root or install them" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
# The ACME tests (internal/proxy/tls_test.go) run Pebble, Let's Encrypt's
# test CA, and its DNS server on loopback. Installed into $(go env GOPATH)/bin
# unless that version is already there.
pebble_version=v2.10.1
gobin="$(go env GOBIN)"
gobin="${gobin:-$(go env GOPATH | cut -d: -f1)/bin}"
for tool in pebble pebble-challtestsrv; do
	if ! go version -m "$gobin/$tool" 2>/dev/null | grep -q "github.com/letsencrypt/pebble/v2[[:space:]]*$pebble_version"; then
		echo "deps: installing $tool $pebble_version"
		GOFLAGS= go install "github.com/letsencrypt/pebble/v2/cmd/$tool@$pebble_version"
	fi
done

# The dashboard's browser test (test/e2e/dashboard_test.go) drives a headless
# Chromium through the DevTools protocol: Debian's package.
if ! command -v chromium >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing chromium; run as root or install it" >&2
		exit 1
	fi
	echo "deps: installing chromium"
	# Without package lists (a fresh image) the install fails: update once.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
fi

echo "deps: ok (go $(go env GOVERSION), git $(git --version | cut -d' ' -f3), python3 $(/usr/bin/python3 --version | cut -d' ' -f2), gunicorn $(gunicorn --version 2>&1 | awk '{print $NF}' | tr -d ')'), node $(node --version), pebble $pebble_version, chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
