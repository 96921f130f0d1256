#!/usr/bin/env bash
# Installs the servers the tests start, from Debian's packages (`make check` runs this first):
# - the Go toolchain and govmomi 0.24's sources (its `simulator` package), for the vCenter simulator
#   (tests/vcsim/main.go, tests/support/vcsim.py), built offline in GOPATH mode;
# - PostgreSQL's server, for the PostgreSQL tests (tests/support/postgres.py starts its own throwaway cluster);
# - Chromium, for the browser tests of the pages (tests/web/test_browser.py drives /usr/bin/chromium with Playwright).
# Idempotent: does nothing when every package is installed; runs `apt-get update` only when installing. Where it
# cannot install (no apt-get, not root and no password-less sudo), it stops at once with one message naming the
# one command to run, before any test starts.
set -euo pipefail

packages=(golang-go golang-github-vmware-govmomi-dev postgresql chromium)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for pkg in "${packages[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "test servers already installed: ${packages[*]}"
    exit 0
fi

needed="the tests need ${missing[*]} (Go and govmomi for the vCenter simulator, PostgreSQL's server, Chromium for the browser tests)"
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    echo "make check: $needed, and this machine has no apt-get to install them (a Debian or Ubuntu machine has)." >&2
    exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
        echo "make check: $needed; install them once as root, then run make check again:" >&2
        echo "    sudo bash scripts/install-test-deps.sh" >&2
        exit 1
    fi
    sudo=(sudo -n)
fi
echo "installing the test servers: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
