# rpmirror — see README.md.
GO ?= go
GOFLAGS ?=
BIN := rpmirror

.PHONY: all build test test-deps unit vet fuzz demo bench-createrepo clean

all: build

# A static binary: it runs on any Linux of the architecture, and without
# libc mapped it needs ~1.3 MB less memory in every command.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/rpmirror

# Installs every test dependency, then runs every test; a test whose
# external tool is missing fails instead of skipping.
test: test-deps vet
	RPMIRROR_REQUIRE_ALL=1 $(GO) test -count=1 -timeout 20m ./...

test-deps:
	./.ci/install-deps

# Tests without installing anything: tests needing missing tools skip.
unit:
	$(GO) test ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# Each fuzz target for FUZZTIME (default 2m), one at a time.
FUZZTIME ?= 2m
fuzz:
	./.ci/fuzz $(FUZZTIME)

# The offline demo: build the demo packages, index them, show the result.
demo: build
	rm -rf demo && mkdir -p demo
	$(GO) run ./repodata/rpmtest/cmd/rpmtest-demo demo
	./$(BIN) createrepo --log-format text demo
	@echo; echo "repodata written to ./demo/repodata:"; ls -l demo/repodata

# createrepo benchmark against createrepo_c; see README.
bench-createrepo: build
	./.ci/bench-createrepo

clean:
	rm -rf $(BIN) demo
