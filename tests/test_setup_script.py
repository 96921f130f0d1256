"""`make check` installs the servers the tests start (scripts/install-test-deps.sh), or stops at once with one
message naming the one command to run. The machine's tools are faked at the edge: a `dpkg-query` that knows none
of the packages, an `id` that says who runs it, and no `apt-get` or `sudo` unless a case gives them."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-test-deps.sh"


def _machine(tmp_path: Path, uid: int, tools: dict[str, str]) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fakes = {"dpkg-query": "exit 1", "id": f"echo {uid}", **tools}
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    for real in ("bash", "grep"):  # what the script itself runs on
        which = shutil.which(real)
        assert which is not None
        (bin_dir / real).symlink_to(which)
    return {**os.environ, "PATH": str(bin_dir)}


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)


def test_without_root_or_sudo_it_names_the_one_command_to_run(tmp_path: Path):
    result = _run(_machine(tmp_path, 1000, {"apt-get": "echo apt-get ran; exit 1"}))
    assert result.returncode == 1
    assert "apt-get ran" not in result.stdout + result.stderr
    assert "golang-go" in result.stderr and "postgresql" in result.stderr and "chromium" in result.stderr
    assert "sudo bash scripts/install-test-deps.sh" in result.stderr


def test_without_apt_it_says_what_is_missing_and_why_it_cannot_install(tmp_path: Path):
    result = _run(_machine(tmp_path, 0, {}))
    assert result.returncode == 1
    assert "no apt-get" in result.stderr and "golang-github-vmware-govmomi-dev" in result.stderr


@pytest.mark.parametrize("uid", [0, 1000])
def test_as_root_or_with_sudo_it_installs_what_is_missing(tmp_path: Path, uid: int):
    log = tmp_path / "apt.log"
    tools = {"apt-get": f'echo "$@" >> {log}', "sudo": 'if [ "$1" = -n ]; then shift; fi; "$@"'}
    result = _run(_machine(tmp_path, uid, tools))
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[-1].endswith("golang-go golang-github-vmware-govmomi-dev postgresql chromium")
