#!/usr/bin/env bash
# verify-codegen.sh: fail when regenerating the generated code (go generate
# ./..., e.g. internal/apiserver/openapi/zz_generated_enums.go from the
# k8s.io/api sources) would change it. The working tree is left as it was.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t generated < <(git ls-files -- '*zz_generated_*.go')
snapshot=$(mktemp -d)
trap 'rm -rf "$snapshot"' EXIT
for f in "${generated[@]}"; do
	mkdir -p "$snapshot/$(dirname "$f")"
	cp "$f" "$snapshot/$f"
done

go generate ./...

stale=0
for f in "${generated[@]}"; do
	if ! diff -u "$snapshot/$f" "$f"; then
		stale=1
	fi
done
# A generated file that is new (not yet committed) is stale too.
untracked=$(git ls-files --others --exclude-standard -- '*zz_generated_*.go')
for f in "${generated[@]}"; do
	cp "$snapshot/$f" "$f"
done
if [ -n "$untracked" ]; then
	echo "generated files not committed:"; echo "$untracked"
	stale=1
fi
if [ "$stale" -ne 0 ]; then
	echo "generated code is stale: run go generate ./... and commit the result"; exit 1
fi
echo "verify-codegen: ok"
