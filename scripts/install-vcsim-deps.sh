#!/usr/bin/env bash
# Installs what the vCenter simulator tests need (tests/vcsim/main.go, tests/support/vcsim.py) on Debian:
# the Go toolchain and govmomi 0.24's sources (its `simulator` package), built offline in GOPATH mode.
# Idempotent: does nothing when both packages are installed; runs `apt-get update` only when installing.
set -euo pipefail

packages=(golang-go golang-github-vmware-govmomi-dev)

missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "vcsim deps already installed: ${packages[*]}"
    exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
