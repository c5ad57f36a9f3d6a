# nonstop: `make test` installs what the tests need (on Debian, as root) and
# runs the whole suite; `make build` builds the binary.

GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: build test deps k8s vet unit e2e fuzz clean

build:
	$(GO) build -o bin/nonstop ./cmd/nonstop

# deps installs what the suite needs and is not there yet, idempotently.
deps:
	@./scripts/deps.sh
	@./scripts/docker.sh

# k8s builds, once, the Kubernetes control plane the tests start
# (internal/k8stest): into ${NONSTOP_K8S_CACHE:-/var/cache/nonstop/k8s}/bin,
# about 12 min cold on 2 cores, under a second when up to date.
k8s:
	@./scripts/k8s-build.sh

vet:
	$(GO) vet ./...

test: deps k8s vet
	$(GO) test -count=1 -timeout 40m ./...

unit: k8s
	$(GO) test -count=1 -race $$($(GO) list ./... | grep -v /test/e2e)

e2e:
	$(GO) test -count=1 -v -timeout 30m ./test/e2e/

# fuzz runs each fuzz target for FUZZTIME (default 10m), one after the
# other; what it finds goes to the target's testdata/fuzz, which make test
# then replays.
FUZZTIME ?= 10m
FUZZ_PACKAGES = ./internal/proxy/h1
fuzz:
	@for pkg in $(FUZZ_PACKAGES); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz: $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin
