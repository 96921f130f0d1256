"""The web face under an estate's load (issue 13's targets), against a real `tracker serve` on 127.0.0.1:

- p50/p95 render time of the overview, exposure and events pages, and of the API's events and exposure pages, with
  5,000 hosts and 10,000 events (target: p95 < 100 ms for the three pages);
- 100,000 exposure rows listed through `/api/v1/exposure?limit=1000` page by page: the first listing the moment
  the server listens (cold: it waits for the assessment of every host), the first once the start-up assessment is
  done, and a second listing (warm) (target: < 2 s in all);
- the idle RSS of `tracker run` with `web:` set and without it (one channel configured, so apprise is loaded as in
  any real set-up), once settled (target, decided in issue 21: at most 120 MiB with the web part;
  changedetection.io: 148 MiB).

The catalog is the 166 real builds of tests/data/vmware-builds.csv, the hosts are bench_exposure.py's, and the
events are `new` events spread over those builds, each with one piece of evidence. Prints a table.

    .venv/bin/python benchmarks/bench_web.py [--hosts 5000] [--events 10000] [--big 100000] [--requests 60]
        [--only pages|listing|rss]
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_exposure  # noqa: E402 (the catalog and hosts of the exposure benchmark)

NOW = "2022-03-01T08:00:00Z"


def fill(folder: Path, hosts: int, events: int) -> Path:
    """A database with the catalog, `hosts` hosts and `events` events; its config (no sources, no channels)."""
    from tracker.domain.events import Confidence, Event, EventKind, Evidence
    from tracker.domain.versions import Product
    from tracker.store import repo
    from tracker.store.db import make_engine, session_scope

    config = bench_exposure.fill_database(folder, hosts)
    engine = make_engine(f"sqlite:///{folder / 'tracker.db'}")
    builds = [*sorted(bench_exposure.PULLED), 19193900, 19482537, 20036589, 21422485]
    batch = []
    for n in range(events):
        at = bench_exposure.NOW - timedelta(minutes=events - n)
        url = f"https://knowledge.broadcom.com/kb/316595#{n}"
        evidence = (Evidence("esxi-kb", url, f"ESXi 7.0 Update 3 row {n}", at),)
        kind = (EventKind.NEW, EventKind.PULLED, EventKind.REISSUED)[n % 3]
        build = builds[n % len(builds)]
        batch.append(Event(kind, at, Confidence.HIGH, evidence, Product.ESXI, build, f"ESXi build {build}",
                           detail=f"event {n} of build {build}"))  # fmt: skip
    with session_scope(engine) as session:
        repo.record_changes(session, batch)
    engine.dispose()
    config.write_text(config.read_text() + "web: {listen: '127.0.0.1:0'}\nservice: {tick: 3600}\n")
    return config


@contextmanager
def running(config: Path, *command: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    log = config.parent / f"{command[0]}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli", "--config", str(config), "--now", NOW, *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        url = ""
        for _ in range(600):
            found = re.search(r"web: serving on (http://\S+)", log.read_text())
            if found or process.poll() is not None:
                url = found.group(1) if found else ""
                break
            time.sleep(0.1)
        yield url, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def timings(client: httpx.Client, path: str, count: int) -> tuple[float, float] | None:
    if client.get(path).status_code == 404:
        return None
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
    seconds.sort()
    return statistics.median(seconds) * 1000, seconds[int(len(seconds) * 0.95) - 1] * 1000


def listing(client: httpx.Client) -> tuple[float, int]:
    started, rows, cursor = time.perf_counter(), 0, None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/exposure", params=params).json()
        rows += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return time.perf_counter() - started, rows


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def idle_rss(config: Path, web: bool) -> float:
    target = config.parent / ("with-web.yaml" if web else "without-web.yaml")
    text = config.read_text() + "channels: {ops: {urls: ['json://127.0.0.1:9/hook']}}\n"  # apprise loads too
    target.write_text(text if web else re.sub(r"^web: .*\n", "", text, flags=re.M))
    log = target.parent / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli", "--config", str(target), "--now", NOW, "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(12)  # the first tick, the exposure warm-up, then idle
        if process.poll() is not None:
            raise SystemExit(f"tracker run ended with {process.returncode}:\n{log.read_text()[-3000:]}")
        return rss_mib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--only", choices=("pages", "listing", "rss"), help="measure only this part")
    options = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        estate = Path(tmp) / "estate"
        estate.mkdir()
        config = fill(estate, options.hosts, options.events) if options.only != "listing" else estate
        if options.only in (None, "pages"):
            rows += pages(config, options.requests)
        if options.only in (None, "listing"):
            rows += listings(Path(tmp), options.big)
        if options.only in (None, "rss"):
            with_web, without = idle_rss(config, True), idle_rss(config, False)
            rows.append(("idle RSS, tracker run with web: MiB", f"{with_web:.1f}", "<= 120 MiB", _met(with_web <= 120)))
            rows.append(("idle RSS, tracker run without web: MiB", f"{without:.1f}", "(reference)", ""))
            rows.append(("ratio to changedetection.io (148 MiB)", f"{with_web / 148:.2f}", "", ""))
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}} | {'value':<28} | target        | met?")
    print("-" * width + "-+-" + "-" * 28 + "-+---------------+-----")
    for name, value, target, met in rows:
        print(f"{name:<{width}} | {value:<28} | {target:<13} | {met}")
    print(f"({options.hosts:,} hosts, {options.events:,} events; {os.cpu_count()} cores)")


def pages(config: Path, requests: int) -> list[tuple[str, str, str, str]]:
    rows = []
    with running(config, "serve") as (url, _), httpx.Client(base_url=url, timeout=60) as client:
        client.get("/api/v1/exposure?limit=1")  # the assessment, once
        for label, path in (
            ("overview page /", "/"),
            ("exposure page /exposure", "/exposure"),
            ("events page /events", "/events"),
            ("API /api/v1/events?limit=100", "/api/v1/events?limit=100"),
            ("API /api/v1/exposure?limit=100", "/api/v1/exposure?limit=100"),
        ):
            found = timings(client, path, requests)
            shown = f"{found[0]:.1f} / {found[1]:.1f}" if found else "n/a (404)"
            target = "p95 < 100 ms" if not path.startswith("/api") else "(reference)"
            met = ("yes" if found[1] < 100 else "NO") if found and target != "(reference)" else ""
            rows.append((f"{label}: p50 / p95 ms", shown, target, met))
    return rows


def listings(tmp: Path, size: int) -> list[tuple[str, str, str, str]]:
    """The first listing of a server started on a new database, the moment it listens (cold: nothing assessed or
    kept yet), and a second one (warm); the first listing of the server started again, the moment it listens (it
    shows the listing the first one kept while it assesses again); and of a third start once its start-up
    assessment is done. Each with the CPU seconds the server and this client spent on it: on a busy machine the
    wall time says little, the CPU time still does."""
    big = tmp / "big"
    big.mkdir()
    big_config = fill(big, size, 100)
    with running(big_config, "serve") as (url, server), httpx.Client(base_url=url, timeout=120) as client:
        cold = timed(client, server.pid)
        warm = timed(client, server.pid)
        while client.get("/exposure?limit=1").text.count("a newer assessment is being made"):
            time.sleep(3)  # the listing kept for the next start is written once no page was read for 2 s
    with running(big_config, "serve") as (url, server), httpx.Client(base_url=url, timeout=120) as client:
        restart = timed(client, server.pid)
    with running(big_config, "serve") as (url, server), httpx.Client(base_url=url, timeout=120) as client:
        client.get("/")  # the overview waits for the start-up assessment
        ready = timed(client, server.pid)
    rows = []
    for label, (wall, server_cpu, client_cpu, count) in (
        ("new database, cold", cold),
        ("after a restart", restart),
        ("once assessed", ready),
        ("warm", warm),
    ):
        shown = f"{wall:.2f} (cpu {server_cpu:.2f} + {client_cpu:.2f})"
        rows.append((f"{count:,} exposure rows by 1000, {label}: s", shown, "< 2 s", _met(wall < 2)))
    return rows


def timed(client: httpx.Client, pid: int) -> tuple[float, float, float, int]:
    """One listing: wall seconds, the server's CPU seconds, this client's CPU seconds, rows."""
    server, mine = cpu_seconds(pid), time.process_time()
    wall, count = listing(client)
    return wall, cpu_seconds(pid) - server, time.process_time() - mine, count


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


if __name__ == "__main__":
    main()
