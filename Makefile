# nonstop: `make test` installs what the tests need (on Debian, as root) and
# runs the whole suite; `make build` builds the binary.

GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: build test deps vet unit e2e clean

build:
	$(GO) build -o bin/nonstop ./cmd/nonstop

# deps installs what the suite needs and is not there yet, idempotently.
deps:
	@./scripts/deps.sh
	@./scripts/docker.sh

vet:
	$(GO) vet ./...

test: deps vet
	$(GO) test -count=1 -timeout 40m ./...

unit:
	$(GO) test -count=1 -race $$($(GO) list ./... | grep -v /test/e2e)

e2e:
	$(GO) test -count=1 -v -timeout 30m ./test/e2e/

clean:
	rm -rf bin
