"""Poll benchmark: 50 KB-shaped pages of ~300 KB, served locally, measured against the issue's targets.

    .venv/bin/python benchmarks/bench_poll.py [--repeat 5]     (or: make bench)

Measures, each as a whole process (median and min of --repeat runs):
  a. `tracker --help`, and `tracker builds` on an empty catalog (a database just made by `tracker init`);
  b. the first poll of 50 new pages (a fresh database each run), and the parse time of one page in-process;
  c. the second poll of the same 50 unchanged pages (the server must see 50 conditional requests, all 304);
  d. urlwatch's unchanged run over the same 50 pages (installed into the venv when missing), as the reference;
  e. a poll where 1 of the 50 pages changed (one new build on top), against urlwatch's run over the same change.
With --links every release name links to its notes page (as the vendor's pages do) and the tracker keeps
`follow_limit: 0`: the links are recorded, none is followed.
Prints one table (ours | reference | ratio | target | met?) and the peak RSS of the measured processes.
Needs no network: the pages are generated into a temporary folder and served on 127.0.0.1 by benchmarks/_site.py.
"""

import argparse
import importlib.metadata
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _site import Counts, Page, Site, rows_per_page, serving, write_pages

PAGES = 50
PROCESS_TIMEOUT = 120.0  # seconds; a run that takes longer is killed and the benchmark fails
SERVER_LIFETIME = 600.0  # seconds; the local server stops by itself after this
CHANGEDETECTION_FIRST_POLL = 12.7  # s: changedetection.io's published first poll of 50 such pages, same machine kind
HELP_BUDGET = 0.5  # s
BUILDS_BUDGET = 0.6  # s: `tracker builds` on an empty catalog, the first listing a new user asks for
PARSE_BUDGET = 100.0  # ms per page
# Seconds a measurement may use before it stops repeating: the benchmark stays under ~3 minutes on 2 cores.
FIRST_POLL_BUDGET, UNCHANGED_POLL_BUDGET, CHANGED_POLL_BUDGET = 90.0, 45.0, 60.0
CHANGED_RATIO = 2.0  # a poll where one page changed costs at most twice urlwatch's run over the same change
BIN = Path(sys.executable).parent  # the venv's bin folder: tracker, urlwatch, pip


# --- running a process ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mib: float
    stdout: str


def run(argv: Sequence[str | Path], env: dict[str, str], cwd: Path, timeout: float = PROCESS_TIMEOUT) -> Run:
    """Run a process to its end: wall time, and its own peak RSS (wait4), not that of earlier children."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=err, env=env, cwd=cwd)
        killer = threading.Timer(timeout, os.kill, (process.pid, signal.SIGKILL))
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} exited with {process.returncode}:\n{stdout}\n{stderr}")
    return Run(seconds, usage.ru_maxrss / 1024, stdout)


@dataclass(frozen=True)
class Series:
    runs: list[Run]

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def fastest(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def peak_rss_mib(self) -> float:
        return max(r.max_rss_mib for r in self.runs)

    def text(self) -> str:
        return f"{self.median:.2f} s (min {self.fastest:.2f}, n={len(self.runs)})"


def repeat(times: int, once: Callable[[], Run], budget: float = 60.0) -> Series:
    """`once` up to `times` times; no new run starts when it would likely end past `budget` seconds (min 1 run)."""
    runs = [once()]
    while len(runs) < times and sum(r.seconds for r in runs) * (len(runs) + 1) / len(runs) <= budget:
        runs.append(once())
    return Series(runs)


def child_env(home: Path) -> dict[str, str]:
    """The environment of measured processes: a private home, no proxy, no colours, no TRACKER_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("TRACKER_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"))
    env.update(NO_PROXY="127.0.0.1,localhost", NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
    return env


# --- ours -----------------------------------------------------------------------------------------------------
def write_tracker_config(folder: Path, site: Site, pages: list[Page], links: bool = False) -> Path:
    lines = [
        f"database: sqlite:///{folder / 'tracker.db'}",
        "http: {politeness_delay: 0, follow_limit: 0}" if links else "http: {politeness_delay: 0}",
        "sources:",
        *(
            f"  - {{id: kb-{n:02d}, kind: kb_build_table, product: esxi, url: '{site.url(p)}'}}"
            for n, p in enumerate(pages)
        ),
    ]
    config = folder / "tracker.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def empty_catalog(folder: Path, site: Site, pages: list[Page], links: bool, env: dict[str, str]) -> Path:
    """The same sources' config over its own database, made by `tracker init` and never polled: its config."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_tracker_config(folder, site, pages, links)
    run([BIN / "tracker", "-c", config, "init"], env, folder)
    return config


def remove_database(folder: Path) -> None:
    for name in ("tracker.db", "tracker.db-wal", "tracker.db-shm"):
        (folder / name).unlink(missing_ok=True)


def expect(counts: Counts, requests: int, conditional: int, not_modified: int, what: str) -> None:
    seen = (counts.requests, counts.conditional, counts.not_modified)
    if seen != (requests, conditional, not_modified):
        raise SystemExit(
            f"{what}: expected {requests} requests, {conditional} conditional, {not_modified} answered 304; "
            f"the server saw {seen[0]}, {seen[1]}, {seen[2]}"
        )


def first_poll(config: Path, folder: Path, site: Site, env: dict[str, str]) -> Run:
    remove_database(folder)
    site.reset()
    result = run([BIN / "tracker", "-c", config, "poll"], env, folder)
    expect(site.reset(), PAGES, 0, 0, "first poll")
    if f"{PAGES} parsed" not in result.stdout:
        raise SystemExit(f"first poll: expected {PAGES} parsed sources, got:\n{result.stdout}")
    return result


def unchanged_poll(config: Path, folder: Path, site: Site, env: dict[str, str], seen: list[Counts]) -> Run:
    site.reset()
    result = run([BIN / "tracker", "-c", config, "poll"], env, folder)
    seen.append(site.reset())
    expect(seen[-1], PAGES, PAGES, PAGES, "unchanged poll")
    if f"{PAGES} not modified" not in result.stdout:
        raise SystemExit(f"unchanged poll: expected {PAGES} not modified sources, got:\n{result.stdout}")
    return result


def changed_poll(config: Path, folder: Path, site: Site, env: dict[str, str]) -> Run:
    """A poll after one page changed: 50 conditional requests, 49 answered 304, one page parsed."""
    site.reset()
    result = run([BIN / "tracker", "-c", config, "poll"], env, folder)
    expect(site.reset(), PAGES, PAGES, PAGES - 1, "poll with one changed page")
    if "1 parsed" not in result.stdout or f"{PAGES - 1} not modified" not in result.stdout:
        raise SystemExit(f"poll with one changed page: expected 1 parsed, {PAGES - 1} not modified:\n{result.stdout}")
    return result


@dataclass(frozen=True)
class Changed:
    """Each run changes the next page, then polls with the tracker, then runs urlwatch over the same change."""

    ours: Series
    urlwatch: Series


def changed_runs(
    repeats: int, config: Path, argv: list[str | Path], folder: Path, site: Site, pages: list[Page], links: bool
) -> Changed:
    env = child_env(folder / "home")
    ours: list[Run] = []
    theirs: list[Run] = []
    while len(ours) < repeats:
        site.change(pages[len(ours) % len(pages)], links)
        ours.append(changed_poll(config, folder, site, env))
        site.reset()
        theirs.append(run(argv, env, folder))
        if sum(r.seconds for r in ours + theirs) * (len(ours) + 1) / len(ours) > CHANGED_POLL_BUDGET:
            break
    return Changed(Series(ours), Series(theirs))


def parse_times_ms(site: Site, pages: list[Page]) -> list[float]:
    """Per-page parse time in this process (after one untimed warm-up parse); checks every page's rows."""
    from tracker.domain.versions import Product
    from tracker.sources import REGISTRY

    kind = REGISTRY["kb_build_table"]
    kind.parse(pages[0].file.read_bytes(), url=site.url(pages[0]), product=Product.ESXI)
    times: list[float] = []
    builds: set[int] = set()
    for page in pages:
        content = page.file.read_bytes()
        started = time.perf_counter()
        result = kind.parse(content, url=site.url(page), product=Product.ESXI)
        times.append((time.perf_counter() - started) * 1000)
        if result.problem or result.skipped or len(result.records) != rows_per_page():
            raise SystemExit(f"{page.file.name}: {len(result.records)} rows, {len(result.skipped)} skipped")
        builds.update(r.build for r in result.records)
    if len(builds) != rows_per_page() * len(pages):
        raise SystemExit(f"the pages share builds: {len(builds)} distinct over {len(pages)} pages")
    return times


# --- urlwatch -------------------------------------------------------------------------------------------------
def urlwatch_bin(folder: Path) -> Path:
    binary = BIN / "urlwatch"
    if not binary.exists():
        print("urlwatch is not in the venv: installing it with pip", file=sys.stderr)
        run([BIN / "python", "-m", "pip", "install", "--quiet", "urlwatch"], dict(os.environ), folder, 600.0)
    return binary


def urlwatch_version() -> str:
    try:
        return importlib.metadata.version("urlwatch")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def urlwatch_argv(folder: Path, site: Site, pages: list[Page]) -> list[str | Path]:
    jobs = "---\n".join(f"name: kb-{n:02d}\nurl: {site.url(p)}\n" for n, p in enumerate(pages))
    (folder / "urls.yaml").write_text(jobs, encoding="utf-8")
    return [
        urlwatch_bin(folder),
        "--urls",
        folder / "urls.yaml",
        "--config",
        folder / "urlwatch.yaml",  # written with urlwatch's defaults on the first run
        "--cache",
        folder / "cache.db",
        "--hooks",
        folder / "hooks.py",  # none: the file does not exist
    ]


def urlwatch_warm(argv: list[str | Path], folder: Path, site: Site, env: dict[str, str]) -> None:
    """urlwatch's first run: every page fetched whole into its cache."""
    site.reset()
    run(argv, env, folder)
    expect(site.reset(), PAGES, 0, 0, "urlwatch's first run")


def urlwatch_unchanged(
    argv: list[str | Path], folder: Path, site: Site, env: dict[str, str], seen: list[Counts]
) -> Run:
    site.reset()
    result = run(argv, env, folder)
    seen.append(site.reset())
    return result


# --- the report -----------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("measurement", "ours", "reference", "ratio", "target", "met?")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for index, row in enumerate([header, *rows]):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("-+-".join("-" * width for width in widths))


@dataclass(frozen=True)
class Results:
    page_kb: float
    help: Series
    builds: Series  # tracker builds, empty catalog
    first: Series
    parse_ms: list[float]
    unchanged: Series
    ours_counts: list[Counts]  # one per unchanged poll
    urlwatch: Series
    urlwatch_version: str
    urlwatch_counts: list[Counts]  # one per unchanged run
    changed: Changed
    links: bool


def table_rows(r: Results) -> list[tuple[str, ...]]:
    parse_median, parse_max = statistics.median(r.parse_ms), max(r.parse_ms)
    first_target = CHANGEDETECTION_FIRST_POLL / 3
    uw, ours = _least_conditional(r.urlwatch_counts), _least_conditional(r.ours_counts)
    return [
        ("(a) tracker --help", r.help.text(), "-", "-", f"< {HELP_BUDGET} s", verdict(r.help.median < HELP_BUDGET)),
        (
            "(a) tracker builds, empty catalog",
            r.builds.text(),
            "-",
            "-",
            f"< {BUILDS_BUDGET} s",
            verdict(r.builds.median < BUILDS_BUDGET),
        ),
        (
            f"(b) first poll, {PAGES} new pages",
            r.first.text(),
            f"changedetection.io {CHANGEDETECTION_FIRST_POLL} s (published)",
            f"{r.first.median / CHANGEDETECTION_FIRST_POLL:.2f}",
            f"< 1/3 ({first_target:.2f} s)",
            verdict(r.first.median < first_target),
        ),
        (
            "(b) parse one page, median",
            f"{parse_median:.1f} ms",
            "-",
            "-",
            f"< {PARSE_BUDGET:.0f} ms",
            verdict(parse_median < PARSE_BUDGET),
        ),
        (
            "(b) parse one page, max",
            f"{parse_max:.1f} ms",
            "-",
            "-",
            f"< {PARSE_BUDGET:.0f} ms",
            verdict(parse_max < PARSE_BUDGET),
        ),
        (
            f"(c) unchanged poll, {PAGES} pages",
            r.unchanged.text(),
            f"urlwatch {r.urlwatch_version} {r.urlwatch.text()}",
            f"{r.unchanged.median / r.urlwatch.median:.2f}",
            "<= 1.00",
            verdict(r.unchanged.median <= r.urlwatch.median),
        ),
        (
            f"(e) 1 of {PAGES} pages changed",
            r.changed.ours.text(),
            f"urlwatch {r.changed.urlwatch.text()}",
            f"{r.changed.ours.median / r.changed.urlwatch.median:.2f}",
            f"<= {CHANGED_RATIO:.2f}",
            verdict(r.changed.ours.median <= CHANGED_RATIO * r.changed.urlwatch.median),
        ),
        (
            "(c) conditional requests -> 304",
            f"{ours.conditional}/{ours.requests} -> {ours.not_modified}",
            f"urlwatch {uw.conditional}/{uw.requests} -> {uw.not_modified}",
            "-",
            f"{PAGES}/{PAGES} -> {PAGES}",
            verdict((ours.requests, ours.conditional, ours.not_modified) == (PAGES, PAGES, PAGES)),
        ),
    ]


def _least_conditional(runs: list[Counts]) -> Counts:
    """The run with the fewest 304s (then conditional requests): the one that shows a miss, if any."""
    return min(runs, key=lambda c: (c.not_modified, c.conditional, -c.requests))


def print_report(r: Results, repeats: int) -> None:
    from tracker.cycle.fetch import PARALLEL_REQUESTS
    from tracker.cycle.parse import MIN_BYTES

    linked = "; every release name links to its notes page (follow_limit: 0)" if r.links else ""
    print(
        f"\n{PAGES} pages of {r.page_kb:.0f} KB on average, {rows_per_page()} rows each, served on 127.0.0.1{linked};"
        f" process times are median (min, n runs; at most {repeats})\n"
    )
    print_table(table_rows(r))
    print("\npeak RSS (max over runs, each process alone):")
    for name, series in (
        ("tracker --help", r.help),
        ("tracker builds, empty", r.builds),
        ("tracker poll, first", r.first),
        ("tracker poll, unchanged", r.unchanged),
        ("urlwatch, unchanged", r.urlwatch),
        ("tracker poll, 1 changed", r.changed.ours),
    ):
        print(f"  {name:<24} {series.peak_rss_mib:6.1f} MiB")
    parsing = sum(r.parse_ms) / 1000
    print(
        f"\nparsing all {PAGES} pages in-process takes {parsing:.2f} s of the first poll's {r.first.median:.2f} s;"
        f"\nserver counters, our unchanged polls: {_counts_text(r.ours_counts)}"
        f"\nserver counters, urlwatch's unchanged runs: {_counts_text(r.urlwatch_counts)}"
        f"\nurlwatch fetches with 10 threads in parallel; tracker fetches up to {PARALLEL_REQUESTS} pages at once"
        f"\nwhen no politeness gap is configured (tracker/cycle/fetch.py), and parses many changed pages"
        f"\n({MIN_BYTES / 1e6:g} MB or more) in worker processes (tracker/cycle/parse.py); an unchanged poll is"
        f"\nrecorded without the ORM (tracker/store/fastpath.py)."
    )


def _counts_text(runs: list[Counts]) -> str:
    """`5 run(s): 50 requests, 50 conditional, 50 answered 304`; one part per distinct outcome."""
    seen = [(c.requests, c.conditional, c.not_modified) for c in runs]
    parts = [
        f"{seen.count(k)} run(s): {k[0]} requests, {k[1]} conditional, {k[2]} answered 304" for k in dict.fromkeys(seen)
    ]
    return "; ".join(parts)


# --- main -----------------------------------------------------------------------------------------------------
def measure(folder: Path, repeats: int, links: bool) -> Results:
    env = child_env(folder / "home")
    pages = write_pages(folder / "pages", PAGES, links)
    with serving(pages, SERVER_LIFETIME) as site:
        config = write_tracker_config(folder, site, pages, links)
        note(f"serving {PAGES} pages at {site.base_url}")
        note("(a) tracker --help")
        help_ = repeat(repeats, lambda: run([BIN / "tracker", "--help"], env, folder))
        note("(a) tracker builds, empty catalog")
        empty = empty_catalog(folder / "empty", site, pages, links, env)
        builds = repeat(repeats, lambda: run([BIN / "tracker", "-c", empty, "builds"], env, folder))
        note("(b) first poll, fresh database each run")
        first = repeat(repeats, lambda: first_poll(config, folder, site, env), FIRST_POLL_BUDGET)
        parse_ms = parse_times_ms(site, pages)
        note("(c) unchanged poll")
        ours_counts: list[Counts] = []
        unchanged = repeat(
            repeats, lambda: unchanged_poll(config, folder, site, env, ours_counts), UNCHANGED_POLL_BUDGET
        )
        note("(d) urlwatch: first run, then unchanged runs")
        argv = urlwatch_argv(folder, site, pages)
        urlwatch_warm(argv, folder, site, env)
        urlwatch_counts: list[Counts] = []
        urlwatch = repeat(repeats, lambda: urlwatch_unchanged(argv, folder, site, env, urlwatch_counts))
        note(f"(e) 1 of {PAGES} pages changed: our poll, then urlwatch, per change")
        changed = changed_runs(repeats, config, argv, folder, site, pages, links)
    page_kb = statistics.mean(len(p.content) for p in pages) / 1000
    return Results(
        page_kb,
        help_,
        builds,
        first,
        parse_ms,
        unchanged,
        ours_counts,
        urlwatch,
        urlwatch_version(),
        urlwatch_counts,
        changed,
        links,
    )


def note(text: str) -> None:
    print(f"bench: {text} ...", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per process measurement (default 5)")
    parser.add_argument("--links", action="store_true", help="release names link to notes pages (follow_limit: 0)")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        results = measure(Path(tmp), max(1, args.repeat), args.links)
    print_report(results, max(1, args.repeat))
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
