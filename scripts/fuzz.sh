#!/usr/bin/env bash
# Runs every `go test -fuzz` target of the module for a short while (CI) or
# as long as asked: scripts/fuzz.sh [seconds-per-target]. The seed corpora
# already run as ordinary tests in `go test ./...`; this adds new inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
export CGO_ENABLED=0
status=0
while IFS=: read -r file _ decl; do
  name=${decl#func }
  name=${name%%(*}
  pkg=./$(dirname "$file")
  echo "fuzz: $pkg $name (${secs}s)"
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="${secs}s" "$pkg" >/tmp/fuzz-$$.log 2>&1; then
    cat /tmp/fuzz-$$.log
    status=1
  fi
done < <(git grep -n '^func Fuzz' -- '*_test.go')
rm -f /tmp/fuzz-$$.log
exit $status
