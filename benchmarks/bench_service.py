"""Service benchmark: `tracker run` as a subprocess, as it runs for weeks, measured against the issue's targets.

    .venv/bin/python benchmarks/bench_service.py [--tick 5] [--quiet-ticks 6] [--flips 3]

The service polls 50 KB-shaped pages of ~300 KB (benchmarks/_site.py, on 127.0.0.1) into a SQLite file on disk,
with a webhook channel (apprise `json://`) to a local receiver (tests/support/receivers.py) and a watchlist as real
configs have one (ESXi 8.0 and 7.0: pulled, reissued, restored; important and up; immediate to the webhook).
Each source's interval is shorter than the tick, so every tick polls all 50 pages (a real config: 1h sources,
a 60 s tick); no politeness gap, as in bench_poll.py, or a quiet cycle would be 50 s of waiting.

  a. idle RSS: VmRSS of the service (and its child processes, if any) once its first cycles settled;
  b. latency: a page flips (its newest 8.0 row gets "(Recalled)": a pull, high confidence, no second poll
     needed) at a set phase of the tick; the time until the alert reaches the receiver, and when the poll saw it;
  c. CPU time of a quiet tick inside the running service (utime + stime from /proc/PID/stat around one tick whose
     50 pages answered 304: the poll, the outbox and the digest check), against a bare httpx client making the
     same 50 conditional requests (a fresh client per round, as the service builds one per cycle).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from _site import LINES, Page, Site, note, rows_of, serving, write_pages
from bench_poll import BIN, child_env, print_table, verdict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the receiver the tests use: tests/support/receivers.py

from tests.support.receivers import WebhookReceiver  # noqa: E402

PAGES = 50
RSS_TARGET_MIB = 120.0  # decided in issue 21: `tracker run` with `web:` and a channel idles at most 120 MiB
CHANGEDETECTION_RSS_MIB = 148.0  # changedetection.io's idle RSS with 50 watches (the figure)
CPU_RATIO_TARGET = 2.0
LATENCY_SLACK = 1.0  # s: the target is one tick plus this
SERVER_LIFETIME = 600.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the service ----------------------------------------------------------------------------------------------
def write_config(folder: Path, site: Site, pages: list[Page], hook: WebhookReceiver, tick: int) -> Path:
    sources = [
        f"  - {{id: kb-{n:02d}, kind: kb_build_table, product: esxi, interval: 1s, url: '{site.url(p)}'}}"
        for n, p in enumerate(pages)
    ]
    lines = [
        f"database: sqlite:///{folder / 'tracker.db'}",
        "timezone: Europe/Berlin",
        "http: {politeness_delay: 0}",
        f"service: {{tick: {tick}s}}",
        "sources:",
        *sources,
        "channels:",
        f"  ops-hook: {{urls: ['json://{hook.url('/hook').removeprefix('http://')}']}}",
        "watchlists:",
        "  - {name: prod-esxi, owner: vsphere-team, products: [esxi], lines: ['7.0', '8.0'],",
        "     events: [pulled, reissued, restored], min_severity: important, immediate: [ops-hook]}",
        "digest: {schedule: '0 8 * * *', send_when_empty: true}",
    ]
    config = folder / "tracker.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@dataclass
class Service:
    """`tracker run` and what it logged, each line with the time it arrived."""

    process: subprocess.Popen[str]
    lines: list[tuple[float, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.changed.notify_all()

    def wait_line(self, after: int, test: Callable[[str], bool], timeout: float) -> tuple[int, float, str]:
        """The first line from index `after` on that passes `test`: (index, arrival time, text)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for index in range(after, len(self.lines)):
                    if test(self.lines[index][1]):
                        return index, *self.lines[index]
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    log = "\n".join(text for _, text in self.lines[-30:])
                    raise SystemExit(f"the service did not log the expected line within {timeout:.0f} s:\n{log}")
                self.changed.wait(left)

    def count(self) -> int:
        with self.changed:
            return len(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_service(config: Path, folder: Path, env: dict[str, str]) -> Service:
    argv = [str(BIN / "tracker"), "--config", str(config), "run"]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=folder)
    service = Service(process)
    threading.Thread(target=service.read, daemon=True).start()
    return service


def is_quiet_poll(line: str) -> bool:
    return line.startswith(f"poll: {PAGES} pages: {PAGES} not modified;")  # the cycle line, as poll_line words it


def is_poll(line: str) -> bool:
    return line.startswith("poll: ")


def wait_tick_done(service: Service, after: int, poll: Callable[[str], bool], timeout: float) -> tuple[int, float, str]:
    """A tick's poll line, then its digest line: the whole tick's work is over (the outbox's chores and the
    channels' senders log only when they did something: a quiet tick has no outbox line)."""
    index, at, text = service.wait_line(after, poll, timeout)
    service.wait_line(index - 2, lambda line: line.startswith("digest: "), timeout)
    return index, at, text


# --- /proc ----------------------------------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (the parse pool's workers, if any are alive)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class Memory:
    rss_mib: float  # the service's own VmRSS
    children_mib: float  # its child processes' VmRSS, summed
    children: int
    peak_mib: float  # the service's VmHWM
    child_names: tuple[str, ...] = ()  # what each child process runs, shortened


def memory(pid: int) -> Memory:
    kids = descendants(pid)
    child_kib, names = 0, []
    for kid in kids:
        try:
            child_kib += status_kib(kid, "VmRSS")
            names.append(Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[-70:].strip())
        except OSError:
            continue  # gone meanwhile
    own, peak = status_kib(pid, "VmRSS") / 1024, status_kib(pid, "VmHWM") / 1024
    return Memory(own, child_kib / 1024, len(kids), peak, tuple(names))


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and of its children it has waited for (/proc/PID/stat fields 14-17)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / CLK_TCK


# --- the page flip --------------------------------------------------------------------------------------------
def flip(site: Site, pages: list[Page], number: int) -> int:
    """Page `number`'s newest ESXi 8.0 row becomes "(Recalled)"; its ETag and Last-Modified move on. The build."""
    page = pages[number]
    row = rows_of(LINES[0], number)[0]
    cells = f"<td>{row.name}</td><td>{row.released:%Y/%m/%d}</td><td>{row.build}</td>"
    recalled = cells.replace(f"<td>{row.name}</td>", f"<td>{row.name} (Recalled)</td>")
    content = page.content.replace(cells.encode(), recalled.encode(), 1)
    if content == page.content:
        raise SystemExit(f"page {number}: the row of build {row.build} was not found")
    changed = replace(page, content=content, etag=f'"recalled-{number}"', last_modified=datetime.now(UTC))
    site.pages[page.path] = changed
    return row.build


@dataclass(frozen=True)
class Flip:
    phase: float  # where in the tick the page changed (0: just after a tick started)
    build: int
    seen_after: float  # s from the flip to the poll line that reported the event
    latency: float  # s from the flip to the alert at the receiver
    mentions_build: bool


def measure_flip(
    service: Service, site: Site, pages: list[Page], hook: WebhookReceiver, number: int, phase: float, tick: int
) -> Flip:
    """Wait for a tick to start (its poll line), then `phase` of a tick, flip a page, time the alert."""
    service.wait_line(service.count(), is_poll, 3 * tick + 30)
    # A poll line arrives a quiet cycle after its tick began; the phase counts from the line.
    time.sleep(max(0.0, phase * tick))
    before = len(hook.posts)
    after = service.count()
    build = flip(site, pages, number)
    flipped = time.monotonic()
    posts = hook.wait_for(before + 1, timeout=3 * tick + 30)
    arrived = time.monotonic()
    _, seen, _ = service.wait_line(after, lambda line: is_poll(line) and "; 0 events," not in line, 30)
    body = posts[before].body.decode(errors="replace")
    return Flip(phase, build, seen - flipped, arrived - flipped, str(build) in body)


# --- the bare client ------------------------------------------------------------------------------------------
_BARE = r"""
import json, ssl, sys, time
sys.modules.setdefault("httpx._main", None)  # httpx without its command line, as tracker/http.py imports it
import httpx
pages, rounds = json.loads(sys.stdin.read())
context = httpx.create_ssl_context()  # made once, as tracker/http.py caches it
def once():
    with httpx.Client(verify=context, timeout=20) as client:
        for url, etag, modified in pages:
            response = client.get(url, headers={"If-None-Match": etag, "If-Modified-Since": modified})
            assert response.status_code == 304, response.status_code
once()  # warm-up: imports, first connections
times = []
for _ in range(rounds):
    started = time.process_time()
    once()
    times.append(time.process_time() - started)
print(json.dumps(times))
"""


def bare_httpx_cpu(site: Site, pages: list[Page], env: dict[str, str], rounds: int) -> list[float]:
    """CPU seconds of each round of 50 conditional GETs answered 304, by a bare httpx client in its own process."""
    current = [site.pages[p.path] for p in pages]
    work = [[site.url(p), p.etag, p.last_modified_header] for p in current]
    site.reset()
    result = subprocess.run(
        [str(BIN / "python"), "-c", _BARE],
        input=json.dumps([work, rounds]),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the bare httpx client failed:\n{result.stderr}")
    counts = site.reset()
    if counts.not_modified != PAGES * (rounds + 1):
        raise SystemExit(f"bare httpx: expected {PAGES * (rounds + 1)} answers 304, the server saw {counts}")
    times: list[float] = json.loads(result.stdout)
    return times


# --- the run --------------------------------------------------------------------------------------------------
@dataclass
class Results:
    tick: int
    first_cycle: float = 0.0  # s from start to the first poll line
    settled: Memory | None = None
    idle: list[Memory] = field(default_factory=list)
    tick_cpu: list[float] = field(default_factory=list)
    tick_wall: list[float] = field(default_factory=list)  # s between two quiet poll lines
    bare_cpu: list[float] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)
    counts_per_tick: list[int] = field(default_factory=list)


def quiet_ticks(service: Service, site: Site, results: Results, ticks: int) -> None:
    """CPU of whole quiet ticks: sampled after a tick's poll, outbox and digest lines, once per tick."""
    pid = service.process.pid
    index, at, _ = wait_tick_done(service, service.count(), is_quiet_poll, 3 * results.tick + 60)
    time.sleep(0.2)
    site.reset()
    before = cpu_seconds(pid)
    for _ in range(ticks):
        index, next_at, _ = wait_tick_done(service, index + 1, is_quiet_poll, 3 * results.tick + 30)
        time.sleep(0.2)  # the outbox and digest lines are logged as their step returns
        now = cpu_seconds(pid)
        results.tick_cpu.append(now - before)
        results.tick_wall.append(next_at - at)
        results.counts_per_tick.append(site.reset().not_modified)
        results.idle.append(memory(pid))
        before, at = now, next_at


def measure(folder: Path, tick: int, ticks: int, flips: int) -> Results:
    env = child_env(folder / "home")
    pages = write_pages(folder / "pages", PAGES)
    results = Results(tick)
    with serving(pages, SERVER_LIFETIME) as site, WebhookReceiver() as hook:
        config = write_config(folder, site, pages, hook, tick)
        note(f"serving {PAGES} pages at {site.base_url}; receiver at {hook.url()}; tick {tick} s")
        started = time.monotonic()
        service = start_service(config, folder, env)
        try:
            note("first cycle (50 new pages)")
            _, first, text = service.wait_line(0, is_poll, 120)
            if f"{PAGES} parsed" not in text:
                raise SystemExit(f"first cycle: expected {PAGES} parsed pages, got {text!r}")
            results.first_cycle = first - started
            note(f"quiet ticks: {ticks}, CPU and RSS after each")
            wait_tick_done(service, 0, is_quiet_poll, 3 * tick + 60)  # the first quiet tick settles the caches
            results.settled = memory(service.process.pid)
            quiet_ticks(service, site, results, ticks)
            note(f"latency: {flips} flipped page(s)")
            for number in range(flips):
                phase = 0.9 * number / max(1, flips - 1)
                results.flips.append(measure_flip(service, site, pages, hook, number + 1, phase, tick))
        finally:
            service.stop()
        note("bare httpx client, same 50 conditional requests")
        results.bare_cpu = bare_httpx_cpu(site, pages, env, max(5, ticks))
    return results


# --- the report -----------------------------------------------------------------------------------------------
def table_rows(r: Results) -> list[tuple[str, ...]]:
    assert r.settled is not None
    idle = max(r.idle, key=lambda m: m.rss_mib + m.children_mib)
    rss = idle.rss_mib + idle.children_mib
    ours_cpu, bare = statistics.median(r.tick_cpu), statistics.median(r.bare_cpu)
    latency_target = r.tick + LATENCY_SLACK
    worst = max(f.latency for f in r.flips)
    rows: list[tuple[str, ...]] = [
        (
            f"(a) idle RSS, {PAGES} sources",
            f"{rss:.1f} MiB ({idle.rss_mib:.1f} + {idle.children} child(ren) {idle.children_mib:.1f})",
            f"changedetection.io {CHANGEDETECTION_RSS_MIB:.0f} MiB",
            f"{rss / CHANGEDETECTION_RSS_MIB:.2f}",
            f"< {RSS_TARGET_MIB:.0f} MiB",
            verdict(rss < RSS_TARGET_MIB),
        ),
    ]
    for f in r.flips:
        rows.append(
            (
                f"(b) flip at {f.phase:.0%} of a tick -> alert",
                f"{f.latency:.2f} s (poll saw it after {f.seen_after:.2f} s)",
                f"tick {r.tick} s",
                f"{f.latency / r.tick:.2f} ticks",
                f"< {latency_target:.0f} s",
                verdict(f.latency < latency_target and f.mentions_build),
            )
        )
    rows.append(
        (
            "(b) worst latency",
            f"{worst:.2f} s",
            f"tick {r.tick} s",
            f"{worst / r.tick:.2f} ticks",
            f"< {latency_target:.0f} s",
            verdict(worst < latency_target),
        )
    )
    rows.append(
        (
            f"(c) CPU of a quiet tick, {PAGES} x 304",
            f"{ours_cpu * 1000:.0f} ms (min {min(r.tick_cpu) * 1000:.0f}, n={len(r.tick_cpu)})",
            f"bare httpx {bare * 1000:.0f} ms (min {min(r.bare_cpu) * 1000:.0f}, n={len(r.bare_cpu)})",
            f"{ours_cpu / bare:.2f}",
            f"<= {CPU_RATIO_TARGET:.0f}x",
            verdict(ours_cpu <= CPU_RATIO_TARGET * bare),
        )
    )
    return rows


def print_report(r: Results) -> None:
    assert r.settled is not None
    print(
        f"\n`tracker run`, {PAGES} KB-shaped sources of ~300 KB on 127.0.0.1, SQLite on disk, a webhook channel and a"
        f" watchlist;\ntick {r.tick} s, every source due every tick, no politeness gap\n"
    )
    print_table(table_rows(r))
    print(f"\nfirst cycle (50 new pages, parsed): its poll line {r.first_cycle:.1f} s after the service started")
    s = r.settled
    print(
        f"RSS after the first quiet tick: {s.rss_mib:.1f} MiB, children {s.children_mib:.1f} MiB ({s.children});"
        f" peak (VmHWM) {max(m.peak_mib for m in [s, *r.idle]):.1f} MiB"
    )
    for name in idle_children(r):
        print(f"  child process: ...{name}")
    print("RSS after each quiet tick: " + ", ".join(f"{m.rss_mib + m.children_mib:.1f}" for m in r.idle) + " MiB")
    print(
        "quiet ticks: CPU "
        + ", ".join(f"{c * 1000:.0f}" for c in r.tick_cpu)
        + " ms; apart "
        + ", ".join(f"{w:.2f}" for w in r.tick_wall)
        + " s; 304s per tick "
        + ", ".join(str(c) for c in r.counts_per_tick)
    )
    print("bare httpx rounds: CPU " + ", ".join(f"{c * 1000:.0f}" for c in r.bare_cpu) + " ms")
    print(
        "the quiet tick's CPU is the whole tick (poll of 50 pages, outbox, digest check) read from /proc/PID/stat;"
        "\nthe latency runs from the page changing to the webhook POST arriving at the receiver."
    )


def idle_children(r: Results) -> tuple[str, ...]:
    return r.idle[-1].child_names if r.idle else ()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tick", type=int, default=5, help="service.tick in seconds (default 5)")
    parser.add_argument("--quiet-ticks", type=int, default=6, help="quiet ticks measured (default 6)")
    parser.add_argument("--flips", type=int, default=3, help="pages flipped for the latency (default 3)")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        results = measure(Path(tmp), max(1, args.tick), max(1, args.quiet_ticks), max(1, args.flips))
    print_report(results)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
