"""How long a `tracker poll` killed with SIGKILL in the middle of its cycle keeps the next one out.

For each case, a first `tracker poll` (the bundled story's first stage, on 127.0.0.1) takes the poll lease and
waits on its release-notes pages (held by the site); it is killed with SIGKILL and reaped, the pages are let go,
and a second `tracker poll --wait 600` starts at once. The table gives the seconds from the kill until the second
poll holds the lease, and until it has finished. The lease time is the default one (`service.lease_ttl`).

    same host    the killed poll ran on this host: its holder id can be probed (PID, start time)
    other host   the killed poll ran under `unshare --uts` with a host name of its own: it cannot be probed, so its
                 lease is free only when it expires

    .venv/bin/python benchmarks/bench_lease_takeover.py                      # this tree
    .venv/bin/python benchmarks/bench_lease_takeover.py --tracker-src DIR     # another checkout's tracker/ (e.g. main)
"""

import argparse
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.site import STORY
from tests.support.slow_pages import SlowSite, wait_until

NOW = "2021-09-20T08:00:00Z"
BOUND = 900.0  # seconds: the longest any step may take before the benchmark gives up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracker-src", help="run the tracker package of this checkout (PYTHONPATH)")
    args = parser.parse_args()
    # `python -m` puts the working directory first on sys.path: run from the other checkout too
    child: dict[str, Any] = {"env": {**os.environ, "PYTHONPATH": args.tracker_src}, "cwd": args.tracker_src}
    child = child if args.tracker_src else {}
    rows = [("same host", *_measure(child, other_host=False)), ("other host", *_measure(child, other_host=True))]
    print(f"tracker from: {args.tracker_src or 'this tree'}")
    print(f"{'case':<12} | {'lease taken after kill':>22} | {'next poll done after kill':>25}")
    print(f"{'-' * 12}-+-{'-' * 22}-+-{'-' * 25}")
    for case, taken, done in rows:
        print(f"{case:<12} | {taken:>20.1f} s | {done:>23.1f} s")


def _measure(child: dict[str, Any], other_host: bool) -> tuple[float, float]:
    """(seconds from the kill until the next poll holds the lease, until it has finished); `child`: Popen options."""
    with tempfile.TemporaryDirectory() as folder, _site() as site:
        config = _config(site, Path(folder))
        subprocess.run(_tracker(config, "init"), **child, check=True, capture_output=True)
        site.gate(*(f"/notes/{p.name}" for p in (STORY / "common" / "notes").iterdir()))
        victim = subprocess.Popen(_victim(_tracker(config, "poll"), other_host), **child, stderr=subprocess.DEVNULL)
        database = Path(folder) / "tracker.db"
        wait_until(lambda: _holder_pid(database) == victim.pid, BOUND, "the first poll takes the lease")
        wait_until(lambda: site.arrived, BOUND, "the first poll waits on its release notes")
        victim.send_signal(signal.SIGKILL)
        victim.wait(BOUND)
        killed = time.monotonic()
        site.open_gate()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        second = subprocess.Popen(_tracker(config, "poll", "--wait", "600"), **child, **quiet)
        wait_until(lambda: _holder_pid(database) == second.pid or second.poll() is not None, BOUND, "takeover")
        taken = time.monotonic() - killed
        second.wait(BOUND)
        return taken, time.monotonic() - killed


class _site:
    def __enter__(self) -> SlowSite:
        self.site = SlowSite().start()
        self.site.stage("01-2021-09-20")
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.site.stop()


def _config(site: SlowSite, folder: Path) -> Path:
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: 'sqlite:///{folder}/tracker.db'\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
        "http: {politeness_delay: 0, follow_limit: 500}\n",
        encoding="utf-8",
    )
    return config


def _tracker(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", NOW, *args]


def _victim(command: list[str], other_host: bool) -> list[str]:
    if not other_host:
        return command
    return ["unshare", "--uts", "sh", "-c", f"hostname bench-other-host && exec {shlex.join(command)}"]


def _holder_pid(database: Path) -> int | None:
    try:
        with sqlite3.connect(database) as db:
            row = db.execute("SELECT holder FROM lease WHERE name = 'poll'").fetchone()
    except sqlite3.Error:
        return None
    return int(row[0].split(":")[1]) if row and row[0] else None


if __name__ == "__main__":
    main()
