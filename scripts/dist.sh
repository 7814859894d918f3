#!/usr/bin/env bash
# Cross-compiles picloud-node: pure Go (CGO_ENABLED=0), stripped, -trimpath,
# version and commit stamped, with a SHA256SUMS file beside the binaries.
#
#   scripts/dist.sh [OUTDIR [TARGET...]]
#
# OUTDIR defaults to dist/. TARGETs (default: all) name the binaries:
#   linux-arm64   Raspberry Pi 3/4/5 and Zero 2 W on a 64-bit OS
#   linux-armv7   Raspberry Pi 2/3/4 on a 32-bit OS
#   linux-armv6   Raspberry Pi 1 and Zero / Zero W
#   linux-amd64   any x86-64 Linux box
# VERSION and COMMIT come from the environment (the Makefile sets them) or git.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux-arm64 linux-armv7 linux-armv6 linux-amd64)
GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}"

mkdir -p "$out"
for t in "${targets[@]}"; do
  goarm=""
  case "$t" in
    linux-arm64) goarch=arm64 ;;
    linux-armv7) goarch=arm goarm=7 ;;
    linux-armv6) goarch=arm goarm=6 ;;
    linux-amd64) goarch=amd64 ;;
    *) echo "dist: unknown target $t" >&2; exit 2 ;;
  esac
  echo "dist: picloud-node-$t ($VERSION, commit $COMMIT)" >&2
  CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
    "$GO" build -trimpath -ldflags "$ldflags" -o "$out/picloud-node-$t" ./cmd/node
done
cp assets/picloud-node.service "$out/"

# Checksums of everything in OUTDIR, with bare names so that
# `sha256sum -c SHA256SUMS` works where the files are downloaded to.
(cd "$out" && rm -f SHA256SUMS && sha256sum -- $(ls | grep -v "^SHA256SUMS$") > SHA256SUMS)
echo "dist: wrote $(ls "$out" | wc -l) files to $out/" >&2
