"""Hostile pages against a whole `tracker` process (issue 10): the zip element bomb and the trickled page.

    .venv/bin/python benchmarks/bench_hostile.py                      # this checkout
    .venv/bin/python benchmarks/bench_hostile.py --source /tmp/main   # another checkout's `tracker` package

- **Element bomb**: a metadata.zip (a few hundred KB) whose vmware.xml is a `<metadataResponse>` holding millions
  of tiny elements, under every size cap (tests/support/hostile_xml.py), behind the story's depot index and
  vendor index. Measured: `tracker poll` over it, wall time and peak RSS (wait4), and what the source says.
  Target: < 10 s, < 300 MB.
- **Trickled KB page**: the story's ESXi KB page sent one byte every 0.25 s (tests/support/hostile_site.py):
  no single read ever waits long, so only a deadline on the whole fetch ends it. Measured: `tracker poll` and
  `tracker run --once`, wall time; a process still running after `--hang-limit` seconds is killed and shown so.
  Target: back within the deadline (`http.deadline`, set to `DEADLINE` here) plus a few seconds.

A `--source` checkout whose config models know no `deadline` (today's main) is measured with the same
config minus that key: there only the per-read `timeout` (20 s) applies.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the hostile server and documents the tests use: tests/support/hostile_*.py

from tests.support.hostile_site import HostileSite  # noqa: E402
from tests.support.hostile_xml import element_bomb_zip  # noqa: E402
from tests.support.site import STORY  # noqa: E402

# Both under the 50 MB member cap, as the bomb was: depot-like tags (~9 bytes an element), and `<a/>`.
BOMBS = (
    (5_000_000, (b"vibID", b"name", b"version", b"vendor", b"summary", b"bulletin", b"platform", b"tag")),
    (12_000_000, (b"a",)),
)
DEADLINE = 10  # seconds, http.deadline in the trickle's config
RSS_TARGET_MIB, SECONDS_TARGET = 300.0, 10.0


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float  # user + system: the wall time of a loaded machine says less
    max_rss_mib: float
    killed: bool
    stdout: str


def run(argv: list[str], cwd: Path, limit: float) -> Run:
    """A whole process: wall time and its own peak RSS (wait4); killed after `limit` seconds."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("TRACKER_")}
    env.update(NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1", COLUMNS="200")
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        killer = threading.Timer(limit, os.kill, (process.pid, signal.SIGKILL))
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    killed = os.waitstatus_to_exitcode(status) == -signal.SIGKILL
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, killed, text)


def tracker(source: Path, config: Path, *args: str, limit: float) -> Run:
    argv = [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", "2021-11-13T08:00:00Z", *args]
    return run(argv, source, limit)


def write_config(folder: Path, source: str, http: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tracker.db").unlink(missing_ok=True)
    config = folder / "tracker.yaml"
    config.write_text(f"database: sqlite:///{folder}/tracker.db\nsources:\n  - {source}\nhttp: {http}\n", "utf-8")
    return config


def outcome(done: Run, limit: float) -> str:
    if done.killed:
        return f"still running after {limit:g} s: killed"
    lines = [line.strip() for line in done.stdout.splitlines() if "anomaly:" in line or "error:" in line]
    return (lines[0] if lines else done.stdout.strip().splitlines()[0])[:110]


Shape = tuple[int, tuple[bytes, ...]]  # elements, their tags in turn


def bomb(site: HostileSite, source: Path, folder: Path, limit: float, shape: Shape) -> tuple[Run, int]:
    elements, tags = shape
    archive = element_bomb_zip(elements, tags)
    depot = STORY / "common" / "depot"
    site.serve("/depot/vmw-depot-index.xml", (depot / "vmw-depot-index.xml").read_bytes(), "application/xml")
    site.serve("/depot/esx/vmw/vmw-esx-index.xml", (depot / "esx/vmw/vmw-esx-index.xml").read_bytes())
    site.serve("/depot/esx/vmw/vmw-ESXi-7.0.0-metadata.zip", archive, "application/zip")
    url = site.url("/depot/vmw-depot-index.xml")
    config = write_config(
        folder, f"{{id: depot, kind: depot_index, url: '{url}', product: esxi}}", "{politeness_delay: 0}"
    )
    return tracker(source, config, "poll", limit=limit), len(archive)


def trickle(site: HostileSite, source: Path, folder: Path, limit: float, deadline: bool) -> list[tuple[str, Run]]:
    site.trickle("/kb/316595.html", (STORY / "04-2021-11-13" / "kb" / "316595.html").read_bytes())
    url = site.url("/kb/316595.html")
    kb = f"{{id: esxi-kb, kind: kb_build_table, url: '{url}', product: esxi, follow_links: false}}"
    http = f"{{politeness_delay: 0, deadline: {DEADLINE}}}" if deadline else "{politeness_delay: 0}"
    runs = []
    for entry in (["poll"], ["run", "--once"]):
        config = write_config(folder / "-".join(entry), kb, http)
        runs.append((" ".join(entry), tracker(source, config, *entry, limit=limit)))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT, help="a checkout whose tracker/ package is measured")
    parser.add_argument("--hang-limit", type=float, default=120.0, help="seconds before a run is killed")
    options = parser.parse_args()
    source: Path = options.source.resolve()
    models = source / "tracker" / "config" / "models.py"  # tracker/config.py before it became a package
    models = models if models.exists() else source / "tracker" / "config.py"
    knows_deadline = "deadline" in models.read_text(encoding="utf-8")
    site = HostileSite().start()
    rows: list[tuple[str, str, str, str, str]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-hostile-") as scratch:
            for shape in BOMBS:
                done, size = bomb(site, source, Path(scratch) / "bomb", options.hang_limit, shape)
                met = not done.killed and done.seconds < SECONDS_TARGET and done.max_rss_mib < RSS_TARGET_MIB
                tags = "".join(f"<{tag.decode()}/>" for tag in shape[1][:2]) + ("..." if len(shape[1]) > 2 else "")
                what = f"element bomb: {size / 1024:.0f} KB zip, {shape[0]:,} x {tags}, `tracker poll`"
                target = f"< {SECONDS_TARGET:g} s, < {RSS_TARGET_MIB:g} MiB"
                measured = f"{done.seconds:.1f} s ({done.cpu_seconds:.1f} s CPU), {done.max_rss_mib:.0f} MiB"
                rows.append((what, measured, outcome(done, options.hang_limit), target, "yes" if met else "NO"))
            for entry, done in trickle(site, source, Path(scratch) / "trickle", options.hang_limit, knows_deadline):
                bound = DEADLINE + 5
                met = not done.killed and done.seconds < bound
                what = f"trickled KB page (1 byte / 0.25 s), `tracker {entry}`"
                rows.append(
                    (
                        what,
                        f"{done.seconds:.1f} s ({done.cpu_seconds:.1f} s CPU), {done.max_rss_mib:.0f} MiB",
                        outcome(done, options.hang_limit),
                        f"< {bound} s",
                        "yes" if met else "NO",
                    )
                )
    finally:
        site.stop()
    limit = f"http.deadline = {DEADLINE} s" if knows_deadline else "no http.deadline: the per-read timeout only"
    print(f"source: {source} ({limit})")
    print_table(("measurement", "time, peak RSS", "what the source says", "target", "met?"), rows)


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for index, row in enumerate([header, *rows]):
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("-|-".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
