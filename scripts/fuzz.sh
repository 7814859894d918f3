#!/usr/bin/env bash
# Runs every `go test -fuzz` target of the module for a short while (CI) or
# as long as asked: scripts/fuzz.sh [seconds-per-target]. The seed corpora
# already run as ordinary tests in `go test ./...`; this adds new inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
export CGO_ENABLED=0
status=0
# findings counts the inputs saved for a fuzz target (none: no folder yet).
findings() { { ls "$1" 2>/dev/null || true; } | wc -l; }
while IFS=: read -r file _ decl; do
  name=${decl#func }
  name=${name%%(*}
  pkg=./$(dirname "$file")
  echo "fuzz: $pkg $name (${secs}s)"
  corpus="$pkg/testdata/fuzz/$name"
  before=$(findings "$corpus")
  for try in 1 2; do
    if go test -run='^$' -fuzz="^${name}\$" -fuzztime="${secs}s" "$pkg" >/tmp/fuzz-$$.log 2>&1; then
      break
    fi
    cat /tmp/fuzz-$$.log
    # A finding is saved under testdata/fuzz: that is a real failure. A run
    # that failed without saving one lost a worker (e.g. to the OOM killer
    # on a loaded machine); try it once more.
    if [ "$(findings "$corpus")" -ne "$before" ] || [ $try -eq 2 ]; then
      status=1
      break
    fi
    echo "fuzz: $name failed without a finding; retrying"
  done
done < <(git grep -n '^func Fuzz' -- '*_test.go')
rm -f /tmp/fuzz-$$.log
exit $status
