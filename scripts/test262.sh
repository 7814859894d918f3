#!/bin/sh
# test262.sh runs tc39/test262 through plain goja and through the sandbox
# (node/executor TestTest262) and writes the report to test262-report.txt.
#   scripts/test262.sh            the whole suite (or every Nth test: SAMPLE=N)
#   scripts/test262.sh vendor     refresh the slice CI runs, in node/executor/testdata/test262
# TEST262_GIT is a git directory holding the pinned commit (a clone of
# https://github.com/tc39/test262); without it the script clones one.
set -eu
# The commit goja's own runner pins (.tc39_test262_checkout.sh in goja).
COMMIT=3af36bec45bd4f72d4b57366653578e1e4dafef7
# The slice: what the sandbox's guards and wrappers touch most.
SLICE="test/built-ins/Map test/built-ins/Set test/built-ins/Array/isArray test/built-ins/Array/from
 test/built-ins/Array/of test/built-ins/Array/prototype/map test/built-ins/RegExp/prototype/test
 test/built-ins/RegExp/prototype/exec test/language/expressions/instanceof test/language/statements/class/subclass"
cd "$(dirname "$0")/.."
if [ -z "${TEST262_GIT:-}" ]; then
	TEST262_GIT=$(mktemp -d)/test262.git
	git clone --bare --filter=blob:none https://github.com/tc39/test262.git "$TEST262_GIT"
fi
if [ "${1:-}" = vendor ]; then
	dst=node/executor/testdata/test262
	rm -rf "$dst/harness" "$dst/test"
	# shellcheck disable=SC2086
	git --git-dir="$TEST262_GIT" archive "$COMMIT" harness $SLICE LICENSE | tar -x -C "$dst"
	printf 'tc39/test262 at %s (https://github.com/tc39/test262), BSD licence (LICENSE):\nharness/ and\n%s\n' "$COMMIT" "$SLICE" > "$dst/ORIGIN"
	exit 0
fi
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
git --git-dir="$TEST262_GIT" archive "$COMMIT" harness test | tar -x -C "$tree"
go test ./node/executor -run '^TestTest262$' -count=1 -timeout 3h -v \
	-test262.dir="$tree" -test262.sample="${SAMPLE:-1}" -test262.report="$PWD/test262-report.txt" | grep -v '^=== ' || true
echo "report: test262-report.txt"
