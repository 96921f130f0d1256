#!/usr/bin/env bash
# Installs the servers the tests start, from Debian's packages:
# - the Go toolchain and govmomi 0.24's sources (its `simulator` package), for the vCenter simulator
#   (tests/vcsim/main.go, tests/support/vcsim.py), built offline in GOPATH mode;
# - PostgreSQL's server, for the PostgreSQL tests (tests/support/postgres.py starts its own throwaway cluster).
# Idempotent: does nothing when both packages are installed; runs `apt-get update` only when installing.
set -euo pipefail

packages=(golang-go golang-github-vmware-govmomi-dev postgresql)

missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "test servers already installed: ${packages[*]}"
    exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
