# PiCloud developer targets. `make test` is the one command CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: run test deps lint
run:
	PICLOUD_MDNS=off $(GO) run ./cmd/node

deps:
	./scripts/deps.sh

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
