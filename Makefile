# PiCloud developer targets. `make test` is the one command CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: run test deps lint fuzz
run:
	PICLOUD_MDNS=off $(GO) run ./cmd/node

deps:
	./scripts/deps.sh

# The README's test command and CI's: lint, every test, a short fuzz of
# every parser of outside input, and the cross-compiled Pi binaries.
test: deps cross lint
	$(GO) test -count=1 -timeout 30m ./...
	./scripts/fuzz.sh 3

lint:
	./scripts/lint.sh

# tc39/test262 through plain goja and through the sandbox, the whole suite
# at the commit goja pins (TEST262_GIT: a clone; SAMPLE=N: every Nth test).
# `go test ./node/executor` runs the vendored slice.
.PHONY: test262
test262:
	./scripts/test262.sh

fuzz:
	./scripts/fuzz.sh 60

# Benchmarks, load and crash tests (bench/). All on loopback, bounded in
# time, mDNS off. `go test ./bench` (part of `make test`) runs the short
# load (15 s) and crash (2 rounds) versions; these targets run the long ones.
.PHONY: bench bench-wrk bench-short bench-fetch bench-kv bench-tail load crash
bench:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench bench
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench fetch
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench kv
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench tail

# The same with wrk as the client of the closed-loop rounds (issue 14).
bench-wrk:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench bench -client wrk

bench-short:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench bench -rounds 1 -warmup 1s -duration 3s -update-samples 20

# Issue 19: hello world alone vs while 200 runs await a 2 s upstream, and
# a fetch proxy vs Node.js's built-in fetch (about 2 minutes).
# Issue 17: KV get and get+put handlers beside hello world and a naive
# FULL-sync Go server.
bench-kv:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench kv

bench-fetch:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench fetch

# Issue 20: an app's requests with no tail vs with a client tailing it that
# never reads (plus 50 idle tails), interleaved rounds (about 80 s).
bench-tail:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench tail

load:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/picloud-bench load -duration 60s

crash:
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 30m -v -run 'TestCrashKeepsAcknowledged(Writes|KV)' ./bench -args -crash.rounds=10

# Release and packaging (see README "Quickstart"). Output goes to dist/.
.PHONY: dist cross package-console
STAMP = VERSION=$(VERSION) COMMIT=$(COMMIT) GO=$(GO)

# picloud-node for every Pi and amd64, stripped and stamped, with SHA256SUMS.
dist:
	$(STAMP) ./scripts/dist.sh dist

# CI: build every Pi target (pure Go, no cgo) and run the binaries' `version`
# under qemu-user when it is installed.
cross:
	$(STAMP) ./scripts/dist.sh bin/cross linux-arm64 linux-armv7 linux-armv6
	$(STAMP) ./scripts/qemu-smoke.sh bin/cross

# The desktop console as a Linux tar.xz with a .desktop entry (cgo build, slow).
package-console:
	$(STAMP) ./scripts/package-console.sh dist
