# Skiff's build and test entry points. `make help` lists them.
GO ?= go
# Go lives in /usr/local/go on this kind of machine, not always on PATH.
export PATH := $(PATH):/usr/local/go/bin
BIN ?= skiff

.PHONY: help generate deps build images test test-integration test-e2e bench lint verify ci up

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

generate: ## regenerate generated code (zz_generated_*.go)
	$(GO) generate ./...

deps: ## install the Debian packages nodes and tests need (when missing)
	./hack/deps.sh

build: ## build the skiff binary
	$(GO) build -o $(BIN) ./cmd/skiff

images: ## build the pause, busybox and testapp OCI image tarballs into build/images (no downloads)
	$(GO) run ./images/build -o build/images

up: build ## install what a node needs and start a single-node cluster
	./hack/up.sh

test: ## unit tests with the race detector
	$(GO) test -race -count=1 ./...

test-integration: ## in-process server with real etcd and client-go
	$(GO) test -race -count=1 -tags integration ./test/integration/...

test-e2e: ## the real binary driven by the installed kubectl (root)
	$(GO) test -count=1 -timeout 30m -parallel 3 -tags e2e ./test/e2e/...

bench: ## benchmarks: API server, scheduler, controllers, node agent (root only) (figures go to docs/benchmarks.md)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./test/bench/...

lint: ## gofmt and go vet over every build tag
	./hack/verify.sh lint

verify: ## lint plus go mod tidy and architecture checks
	./hack/verify.sh

ci: deps verify test test-integration test-e2e ## everything CI runs
