#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, when missing:
# X11/GL/Wayland headers for the console's cgo build, Xvfb for screenshots,
# iproute2 for the discovery tests' network namespaces, qemu-user to run the
# arm64 binary. Safe to run again: it installs only what is absent.
set -euo pipefail

pkgs=(gcc pkg-config libgl1-mesa-dev xorg-dev libwayland-dev libxkbcommon-dev
      xvfb xauth iproute2 qemu-user wrk)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "deps: installing ${missing[*]}" >&2
$sudo apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
