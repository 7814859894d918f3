#!/usr/bin/env bash
# Runs the cross-compiled Pi binaries' `version` under qemu user emulation,
# when qemu-user is installed (scripts/deps.sh installs it); skips otherwise.
# The armv6 binary runs on an ARM1176 (the Pi 1 / Zero CPU), so an ARMv7
# instruction in it would fail here rather than on someone's Pi Zero.
#
#   scripts/qemu-smoke.sh DIR    (DIR holds picloud-node-linux-* from dist.sh)
set -euo pipefail
dir=${1:?usage: qemu-smoke.sh DIR}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
want="picloud-node ${VERSION} (commit ${COMMIT})"

find_qemu() {
  local q
  for q in "$@"; do
    command -v "$q" 2>/dev/null && return 0
  done
  return 1
}

fail=0
ran=0
check() { # target qemu-args...
  local bin="$dir/picloud-node-$1"
  shift
  [ -f "$bin" ] || return 0
  local got
  if ! got=$("$@" "$bin" version 2>&1); then
    echo "qemu-smoke: $bin version failed: $got" >&2
    fail=1
  elif [ "$got" != "$want" ]; then
    echo "qemu-smoke: $bin version printed \"$got\", want \"$want\"" >&2
    fail=1
  else
    echo "qemu-smoke: ok $(basename "$bin"): $got" >&2
  fi
  ran=$((ran + 1))
}

if q=$(find_qemu qemu-aarch64 qemu-aarch64-static); then
  check linux-arm64 "$q"
else
  echo "qemu-smoke: skipped linux-arm64 (no qemu-aarch64; install qemu-user)" >&2
fi
if q=$(find_qemu qemu-arm qemu-arm-static); then
  check linux-armv7 "$q" -cpu cortex-a7
  check linux-armv6 "$q" -cpu arm1176
else
  echo "qemu-smoke: skipped linux-armv7/armv6 (no qemu-arm; install qemu-user)" >&2
fi
[ "$ran" -gt 0 ] || echo "qemu-smoke: nothing ran" >&2
exit $fail
