#!/usr/bin/env bash
# Packages the desktop console with the fyne tool into
# OUTDIR/picloud-console-linux-<arch>.tar.xz: the binary, the icon, a .desktop
# entry and a Makefile (`sudo make install` in the unpacked folder).
#
#   scripts/package-console.sh [OUTDIR]      (default dist/)
#
# `fyne package` writes into the directory it packages: it bumps Build in
# FyneApp.toml, injects a metadata .go file and builds next to the sources.
# So it runs on a copy of the work tree in a temporary directory, and the
# checkout is left exactly as it was (checked at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist}
GO=${GO:-go}
FYNE_TOOL=${FYNE_TOOL:-fyne.io/tools/cmd/fyne@v1.7.4}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
# What the tool would touch if it ran here: FyneApp.toml's content and new
# files next to the console's sources. (Content edits in cmd/console are
# someone's work in progress, not the tool's.)
snapshot() { sha256sum FyneApp.toml; ls -A cmd/console; }
before=$(snapshot)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

GOBIN="$tmp/bin" "$GO" install "$FYNE_TOOL"

# The work tree as `go build` sees it, without git metadata and build output.
mkdir "$tmp/src"
tar --exclude=./.git --exclude=./dist --exclude=./bin --exclude=./picloud-data --exclude=./screenshots \
  -cf - . | tar -xf - -C "$tmp/src"
app="$tmp/src/cmd/console"
cp FyneApp.toml "$app/FyneApp.toml"

arch=$("$GO" env GOARCH)
echo "package-console: building and packaging picloud-console ($VERSION, commit $COMMIT) for linux/$arch" >&2
# fyne passes -ldflags= entries of GOFLAGS on to its go build (adding -s -w
# for --release); this stamps the console like the node.
(cd "$app" && GOFLAGS="${GOFLAGS:+$GOFLAGS }-ldflags=-X=main.version=$VERSION -ldflags=-X=main.commit=$COMMIT" \
  "$tmp/bin/fyne" package -os linux --release --icon "$tmp/src/assets/icon.png" --exe "$app/picloud-console")

name=$(sed -n 's/^Name *= *"\(.*\)"/\1/p' FyneApp.toml | head -1)
mkdir -p "$out"
mv "$app/$name.tar.xz" "$out/picloud-console-linux-$arch.tar.xz"
(cd "$out" && rm -f SHA256SUMS && sha256sum -- $(ls | grep -v '^SHA256SUMS$') > SHA256SUMS)

if [ "$before" != "$(snapshot)" ]; then
  echo "package-console: packaging changed the work tree:" >&2
  diff <(echo "$before") <(snapshot) >&2 || true
  exit 1
fi
echo "package-console: wrote $out/picloud-console-linux-$arch.tar.xz" >&2
