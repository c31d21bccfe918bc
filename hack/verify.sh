#!/usr/bin/env bash
# verify.sh: the static checks CI runs. With "lint" only gofmt and vet.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...
go vet -tags integration ./test/integration/... 2>/dev/null || go vet -tags integration ./...
go vet -tags e2e ./test/e2e/... 2>/dev/null || true
[ "${1:-}" = lint ] && exit 0

cp go.mod /tmp/skiff-go.mod.bak; cp go.sum /tmp/skiff-go.sum.bak
go mod tidy
if ! git diff --quiet -- go.mod go.sum; then
	git --no-pager diff -- go.mod go.sum | head -40
	cp /tmp/skiff-go.mod.bak go.mod; cp /tmp/skiff-go.sum.bak go.sum
	echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1
fi
./hack/verify-codegen.sh
go test -count=1 ./internal/archtest/
echo "verify: ok"
