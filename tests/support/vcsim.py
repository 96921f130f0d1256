"""A simulated vCenter for tests: tests/vcsim/main.go (govmomi's simulator), built once, run per test.

    binary = build_vcsim(CACHE)                        # go build, offline, GOPATH mode (fast when cached)
    with start_vcsim(binary, hosts={"esx-01": "7.0.3:18644231"}) as sim:
        read_vcenter("vc01", host=sim.host, port=sim.port, user=sim.user, password=sim.password, verify_tls=False)

It needs Debian's `golang-go` and `golang-github-vmware-govmomi-dev` (scripts/install-test-deps.sh); without
them `build_vcsim` raises VcsimUnavailable naming the packages, and the fixture turns that into a failure.
"""

import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "tests" / "vcsim"
CACHE = REPO / ".cache" / "vcsim"  # the binary and Go's build cache; gitignored
GOPATH = Path("/usr/share/gocode")
GOVMOMI_SIMULATOR = GOPATH / "src" / "github.com" / "vmware" / "govmomi" / "simulator"
APT_PACKAGES = ("golang-go", "golang-github-vmware-govmomi-dev")
INSTALL_HINT = f"apt-get install -y {' '.join(APT_PACKAGES)}  (or: bash scripts/install-test-deps.sh)"


class VcsimUnavailable(RuntimeError):
    """The simulator cannot be built or started here; the message says what to install or what went wrong."""


@dataclass(frozen=True)
class Vcsim:
    """A running simulator: where it listens and the only credentials it accepts."""

    url: str  # https://user:pass@127.0.0.1:PORT/sdk
    host: str
    port: int
    user: str
    password: str


def build_vcsim(cache: Path = CACHE) -> Path:
    """Build tests/vcsim into `cache`/vcsim; Go's own cache makes a rebuild of unchanged sources take ~0.2 s."""
    go = shutil.which("go")
    if go is None:
        raise VcsimUnavailable(f"the vCenter simulator needs the Go toolchain, and `go` is not on PATH: {INSTALL_HINT}")
    if not GOVMOMI_SIMULATOR.is_dir():
        raise VcsimUnavailable(f"the vCenter simulator needs govmomi's sources in {GOPATH}: {INSTALL_HINT}")
    cache.mkdir(parents=True, exist_ok=True)
    binary = cache / "vcsim"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOCACHE": str(cache / "go-build"),
    }
    done = subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=SOURCE, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise VcsimUnavailable(f"go build of {SOURCE} failed ({INSTALL_HINT}):\n{done.stderr}")
    return binary


def _releases(hosts: Mapping[str, str] | None) -> str:
    return ",".join(f"{name}={release}" for name, release in (hosts or {}).items())


@contextmanager
def start_vcsim(
    binary: Path,
    *,
    hosts: Mapping[str, str],  # name -> "VERSION:BUILD"; spread round-robin over the clusters
    standalone: Mapping[str, str] | None = None,  # hosts outside any cluster
    clusters: int = 1,
    vcenter: str = "7.0.3:19234570",
    vms: Mapping[str, str] | None = None,  # name -> "HOST:TOOLSVERSION" (guest.toolsVersion, 12448 = Tools 12.5.0)
    user: str = "user",
    password: str = "pass",
    ready_timeout: float = 60.0,
) -> Iterator[Vcsim]:
    """Run the simulator until the block ends; it is terminated (then killed) whatever happens."""
    args = [str(binary), "-clusters", str(clusters), "-vcenter", vcenter, "-user", user, "-password", password]
    args += ["-hosts", _releases(hosts), "-standalone", _releases(standalone), "-vms", _releases(vms)]
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            url = _ready_line(process, ready_timeout, errors)
            parts = urlsplit(url)
            assert parts.hostname is not None and parts.port is not None, url
            yield Vcsim(url, parts.hostname, parts.port, user, password)
        finally:
            _stop(process)


def _ready_line(process: "subprocess.Popen[str]", timeout: float, errors: IO[str]) -> str:
    """The URL the simulator prints once it serves; a reader thread lets us wait with a timeout."""
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=timeout).strip()
    except queue.Empty:
        line = ""
    if not line.startswith("https://"):
        _stop(process)
        errors.seek(0)
        raise VcsimUnavailable(
            f"vcsim did not start within {timeout:g} s (exit {process.returncode}):\n{errors.read()}"
        )
    return line


def _stop(process: "subprocess.Popen[str]") -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
