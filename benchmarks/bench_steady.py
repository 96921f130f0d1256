"""Steady-state benchmark: the example config (config/tracker.yaml) at real size, hour by hour, a day and a week on.

    .venv/bin/python benchmarks/bench_steady.py [--hours 12] [--politeness 0]

The two KB tables the example polls (ESXi 316595, vCenter 326316; ~150 and ~200 rows, every release name a link
to its release notes: ~350 notes pages, as many as the real KBs link) and the notes pages, on their real host
names: knowledge.broadcom.com, techdocs.broadcom.com (7.0 and 8.0 notes), docs.vmware.com (6.x notes). One local
server on 127.0.0.1 answers for all three as an HTTP proxy (HTTP_PROXY in the tracker's environment; httpx honours
it), so the tracker's per-host politeness and connection reuse see three hosts. The URLs are http://, not https://
(a proxy cannot answer for https:// without a certificate of those hosts), and nothing leaves the machine.

The config is the example's, with the database in a temporary folder and the source URLs on http://; the
politeness gap is --politeness (default 0: the example's 1 s would make the catch-up hours ~6 minutes of sleep; the
table says what 1 s adds as a lower bound). Each cycle is `tracker --now T run --once` (the service's tick: the
due sources in one cycle, the outbox, the digest), at: the first poll; the next --hours hourly cycles (the follow
limit, 20 new notes per KB and cycle, spreads the first fetch of the notes over the first hours); a day later (the
daily tier: the newest build of each update line) and a week later (the weekly tier: the rest), hourly for
--later-hours each. Builds released in the last 90 days are in the every-cycle tier: 2 ESXi 8.0, 2 ESXi 7.0,
3 vCenter 8.0 and 2 vCenter 7.0 builds here.

Prints one row per cycle (identical consecutive quiet cycles folded into one row): requests to each host, 304s,
pages parsed, wall time of the process, then the tiers `tracker sources` reports.
"""

import argparse
import hashlib
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from _site import LINES, Line, _filler, _modern_names, note, rows_of, send
from bench_poll import BIN, child_env

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "tracker.yaml"
START = datetime(2026, 5, 27, 6, 0, tzinfo=UTC)  # the first poll
KB_HOST, TECHDOCS, DOCS = "knowledge.broadcom.com", "techdocs.broadcom.com", "docs.vmware.com"
HOSTS = (KB_HOST, TECHDOCS, DOCS)
ESXI_KB = "/external/article/316595/build-numbers-and-versions-of-vmware-esxi.html"
VCENTER_KB = "/external/article/326316/build-numbers-and-versions-of-vmware-vce.html"
KB_BYTES, NOTES_BYTES = 300_000, 80_000  # the real article pages carry ~300 KB of chrome; notes pages less
MODIFIED = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)  # every page's Last-Modified: before the first poll
PROCESS_TIMEOUT = 180.0


# --- the catalog ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    product: str  # esxi | vcenter
    line: str
    version: str
    name: str
    released: date
    build: int
    host: str  # where its release notes live
    notes_path: str

    @property
    def notes_url(self) -> str:
        return f"http://{self.host}{self.notes_path}"


def _vcenter_names(line: str, letters_per_update: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v.replace("ESXi", "vCenter"), n.replace("ESXi", "vCenter Server")) for v, n in
                 _modern_names(line, letters_per_update))  # fmt: skip


VCENTER_LINES = (
    Line("8.0", 20_519_528, date(2022, 10, 11), 120_000, 25, _vcenter_names("8.0", (8, 8, 8, 20))),
    Line("7.0", 15_952_498, date(2020, 4, 2), 95_000, 36, _vcenter_names("7.0", (8, 8, 8, 24))),
    Line("6.7", 8_217_866, date(2018, 4, 17), 60_000, 30, _vcenter_names("6.7", (4, 4, 6, 24))),
    Line("6.5", 4_602_587, date(2016, 11, 15), 50_000, 40, _vcenter_names("6.5", (4, 4, 6, 24))),
    Line("6.0", 2_559_268, date(2015, 3, 12), 40_000, 45, _vcenter_names("6.0", (3, 3, 3, 10))),
)
# The newest build of each line: the two supported lines have builds in the last 90 days (every-cycle tier).
NEWEST = {"8.0": START.date() - timedelta(days=20), "7.0": START.date() - timedelta(days=35)}
OLD_NEWEST = {"6.7": date(2023, 10, 3), "6.5": date(2023, 8, 10), "6.0": date(2022, 3, 1)}


def catalog_rows(product: str, lines: tuple[Line, ...]) -> list[Row]:
    """Every row of one KB, newest first per line; dates count back from each line's newest build."""
    rows = []
    for line in lines:
        newest = NEWEST.get(line.label) or OLD_NEWEST[line.label]
        for age, kb_row in enumerate(rows_of(line, 0)):
            host = TECHDOCS if line.label in NEWEST else DOCS
            released = newest - timedelta(days=age * line.day_step)
            path = _notes_path(product, line.label, kb_row.build, host)
            rows.append(Row(product, line.label, kb_row.version, kb_row.name, released, kb_row.build, host, path))
    return rows


def _notes_path(product: str, line: str, build: int, host: str) -> str:
    if host == TECHDOCS:
        kind = (
            "esxi-update-and-patch-release-notes" if product == "esxi" else "vcenter-server-update-and-patch-releases"
        )
        dashed = line.replace(".", "-")
        return f"/us/en/vmware-cis/vsphere/vsphere/{dashed}/release-notes/{kind}/vsphere-{product}-{build}.html"
    return f"/en/VMware-vSphere/{line}/rn/{product}-{build}-release-notes.html"


# --- the pages ------------------------------------------------------------------------------------------------
def kb_page(article: str, title: str, rows: list[Row], header: tuple[str, ...]) -> bytes:
    """A KB article: chrome, filler, one table per line; every release name links to its notes."""
    tables = []
    for line in dict.fromkeys(r.line for r in rows):
        cells = "".join(f"<td><strong>{h}</strong></td>" for h in header)
        body = "\n".join(_kb_row(r, header) for r in rows if r.line == line)
        label = "ESXi" if rows[0].product == "esxi" else "vCenter Server"
        tables.append(f'<h2>{label} {line} 🔝</h2>\n<table class="kb-table"><tbody><tr>{cells}</tr>\n{body}\n</tbody>'
                      "</table>\n")  # fmt: skip
    top = (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>\n"
        f"{_filler(int(article), KB_BYTES - 40_000 - len(rows) * 220)}</head>\n"
        f"<body class='kb-article'><main><article><h1>{title}</h1>\n"
        f"<div class='meta'>Article ID: {article} · Updated On: 05-20-2026</div>\n<h2>Resolution</h2>\n"
    )
    return f"{top}{''.join(tables)}</article></main></body></html>\n".encode()


def _kb_row(row: Row, header: tuple[str, ...]) -> str:
    values = {
        "Version": row.version,
        "Release Name": f'<a href="{row.notes_url}">{row.name}</a>',
        "Release name": f'<a href="{row.notes_url}">{row.name}</a>',
        "Release Date": f"{row.released:%Y/%m/%d}",
        "Build Number": str(row.build),
        "Available as": "ISO / Depot",
    }
    return "<tr>" + "".join(f"<td>{values[h]}</td>" for h in header) + "</tr>"


def notes_page(row: Row) -> bytes:
    """A release-notes page: techdocs' one-cell header line, or a 6.x patch page's Release Date and Build Details."""
    if row.name.startswith("ESXi6"):  # ESXi670-201810001: patch pages have no header line
        intro = f"<p>Release Date: {row.released.strftime('%b %d, %Y').upper()}</p>"
        details = (
            f"<h3>Build Details</h3><table border='1'><tr><td><strong>Download Filename</strong>:</td>"
            f"<td>{row.name}.zip</td></tr><tr><td><strong>Build</strong>:</td><td>{row.build}</td></tr></table>"
        )
    else:
        header = f"{row.name} | {row.released.strftime('%d %b %Y').upper()} | ISO Build {row.build}"
        intro = f"<table class='table'><tbody><tr><td>{header}</td></tr></tbody></table>"
        details = ""
    title = f"VMware {row.name} Release Notes"
    filler = _filler(row.build % 1000, NOTES_BYTES - 2_000)
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>\n{filler}</head>\n"
        f"<body><main><h1>{title}</h1><section><h2>Introduction</h2>{intro}\n"
        "<p>Check for additions and updates to these release notes.</p></section>\n"
        f"<section><h2>What's New</h2><p>This release delivers bug and security fixes.</p>{details}</section>\n"
        "</main></body></html>\n"
    ).encode()


@dataclass(frozen=True)
class Body:
    content: bytes
    etag: str


def site_pages() -> tuple[dict[tuple[str, str], Body], list[Row], list[Row]]:
    """Every page by (host, path), and the rows of the two KBs."""
    esxi, vcenter = catalog_rows("esxi", LINES), catalog_rows("vcenter", VCENTER_LINES)
    esxi_header = ("Version", "Release Name", "Release Date", "Build Number", "Available as")
    vcenter_header = ("Release name", "Version", "Release Date", "Build Number")
    contents = {
        (KB_HOST, ESXI_KB): kb_page("316595", "Build numbers and versions of VMware ESXi/ESX", esxi, esxi_header),
        (KB_HOST, VCENTER_KB): kb_page(
            "326316", "Build numbers and versions of vCenter Server", vcenter, vcenter_header
        ),
    }
    contents.update({(r.host, r.notes_path): notes_page(r) for r in [*esxi, *vcenter]})
    pages = {key: Body(c, '"' + hashlib.sha256(c).hexdigest()[:20] + '"') for key, c in contents.items()}
    return pages, esxi, vcenter


# --- the server: a proxy that answers for the vendor's hosts --------------------------------------------------
@dataclass
class HostCounts:
    requests: int = 0
    not_modified: int = 0
    full: int = 0
    missing: int = 0


@dataclass
class Site:
    pages: dict[tuple[str, str], Body]
    counts: dict[str, HostCounts] = field(default_factory=dict)
    fetched: set[tuple[str, str]] = field(default_factory=set)  # answered 200 at least once
    originals: dict[tuple[str, str], bytes] = field(default_factory=dict)  # KB pages as first written
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> dict[str, HostCounts]:
        with self.lock:
            counts, self.counts = self.counts, {}
        return counts

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)  # a proxy request: the absolute URL
        host = parts.hostname or request.headers.get("Host", "").split(":")[0]
        page = self.pages.get((host, parts.path))
        unchanged = page is not None and request.headers.get("If-None-Match") == page.etag
        with self.lock:
            counts = self.counts.setdefault(host, HostCounts())
            counts.requests += 1
            counts.not_modified += unchanged
            counts.missing += page is None
            counts.full += page is not None and not unchanged
            if page is not None and not unchanged:
                self.fetched.add((host, parts.path))
        if page is None:
            send(request, 404, {}, b"not found")
            return
        validators = {"ETag": page.etag, "Last-Modified": format_datetime(MODIFIED, usegmt=True)}
        if unchanged:
            send(request, 304, validators, b"")
        else:
            send(request, 200, {**validators, "Content-Type": "text/html; charset=utf-8"}, page.content)


@contextmanager
def serving(site: Site) -> Iterator[str]:
    """The proxy on 127.0.0.1 (random port); its URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def do_GET(self) -> None:
            site.answer(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- the tracker ----------------------------------------------------------------------------------------------
def write_config(folder: Path, politeness: float) -> Path:
    """The example config: its database in `folder`, its sources on http://, the politeness gap as asked."""
    text = EXAMPLE.read_text(encoding="utf-8")
    replaced = {
        "database: sqlite:///../data/tracker.db": f"database: sqlite:///{folder / 'tracker.db'}",
        f"https://{KB_HOST}/": f"http://{KB_HOST}/",
        "politeness_delay: 1.0": f"politeness_delay: {politeness}",
    }
    for old, new in replaced.items():
        if old not in text:
            raise SystemExit(f"{EXAMPLE}: expected {old!r} in the example config")
        text = text.replace(old, new)
    for path in (ESXI_KB, VCENTER_KB):
        if f"http://{KB_HOST}{path}" not in text:
            raise SystemExit(f"{EXAMPLE}: the example no longer polls {KB_HOST}{path}")
    config = folder / "tracker.yaml"
    config.write_text(text, encoding="utf-8")
    return config


def tracker(argv: list[str], env: dict[str, str], folder: Path) -> tuple[float, str]:
    """Run `tracker ARGV` to its end: (wall seconds, stdout + stderr)."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "tracker"), *argv], capture_output=True, text=True, env=env, cwd=folder, timeout=PROCESS_TIMEOUT
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"tracker {' '.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return seconds, result.stdout + result.stderr


@dataclass(frozen=True)
class Cycle:
    label: str
    now: datetime
    seconds: float
    counts: dict[str, HostCounts]
    poll_line: str

    @property
    def parsed(self) -> int:
        return sum(c.full for c in self.counts.values())

    def key(self) -> tuple[tuple[int, int], ...]:
        return tuple((self.counts.get(h, HostCounts()).requests, self.counts.get(h, HostCounts()).full) for h in HOSTS)


def cycle(label: str, now: datetime, config: Path, env: dict[str, str], folder: Path, site: Site) -> Cycle:
    site.reset()
    seconds, output = tracker(["--config", str(config), "--now", now.isoformat(), "run", "--once"], env, folder)
    counts = site.reset()
    if any(c.missing for c in counts.values()):
        raise SystemExit(f"{label}: the tracker asked for pages the site does not have:\n{output}")
    poll = next((line for line in output.splitlines() if line.startswith("poll: ")), "")
    return Cycle(label, now, seconds, counts, poll)


def tiers_line(config: Path, env: dict[str, str], folder: Path, now: datetime) -> str:
    _, output = tracker(["--config", str(config), "--now", now.isoformat(), "sources"], env, folder)
    return next((line.strip() for line in output.splitlines() if "followed from KB rows" in line), "?")


# --- the run --------------------------------------------------------------------------------------------------
@dataclass
class Results:
    rows: tuple[int, int]  # ESXi, vCenter KB rows
    notes: int
    politeness: float
    catch_up: bool
    cycles: list[Cycle] = field(default_factory=list)
    tiers: list[tuple[str, str]] = field(default_factory=list)  # (when, `tracker sources` line)
    fetched_notes: int = 0


def phase(name: str, first_hour: int, hours: int) -> list[tuple[str, datetime]]:
    return [(f"{name} +{h}h", START + timedelta(hours=h)) for h in range(first_hour, first_hour + hours)]


def touch_kbs(site: Site, revision: int) -> None:
    """Both KB pages change (their Updated On line), so the next cycle reads their tables again."""
    for key in ((KB_HOST, ESXI_KB), (KB_HOST, VCENTER_KB)):
        base = site.originals.setdefault(key, site.pages[key].content)
        content = base.replace(b"Updated On: 05-20-2026", f"Updated On: 05-20-2026 (r{revision})".encode(), 1)
        site.pages[key] = Body(content, f'"kb-r{revision}-{hashlib.sha256(content).hexdigest()[:12]}"')


def measure(folder: Path, hours: int, later_hours: int, politeness: float, catch_up: bool) -> Results:
    """One scenario in `folder`: the example config's cycles at the planned times; with `catch_up`, the KB pages
    change before each hourly cycle until every notes page was fetched once."""
    pages, esxi, vcenter = site_pages()
    site = Site(pages)
    results = Results((len(esxi), len(vcenter)), len(esxi) + len(vcenter), politeness, catch_up)
    with serving(site) as proxy:
        env = child_env(folder / "home")
        env.update(HTTP_PROXY=proxy, http_proxy=proxy)
        config = write_config(folder, politeness)
        plan = [("first poll", START), *phase("hourly", 1, hours)]
        plan += phase("a day later", 24, later_hours) + phase("a week later", 168, later_hours)
        for label, now in plan:
            touched = catch_up and label.startswith("hourly") and fetched_notes(site) < results.notes
            if touched:
                touch_kbs(site, len(results.cycles))
            note(f"{label}: tracker --now {now:%Y-%m-%dT%H:%M} run --once" + (" (KB pages changed)" if touched else ""))
            results.cycles.append(cycle(label + (" *" if touched else ""), now, config, env, folder, site))
            if now in (START + timedelta(hours=hours), START + timedelta(hours=24 + later_hours - 1)):
                results.tiers.append((label, tiers_line(config, env, folder, now)))
        results.tiers.append((plan[-1][0], tiers_line(config, env, folder, plan[-1][1])))
        results.fetched_notes = fetched_notes(site)
    return results


def fetched_notes(site: Site) -> int:
    with site.lock:
        return sum(1 for host, _ in site.fetched if host != KB_HOST)


# --- the report -----------------------------------------------------------------------------------------------
def folded(cycles: list[Cycle]) -> list[tuple[str, list[Cycle]]]:
    """Consecutive cycles of one phase with the same requests per host, as one row."""
    groups: list[tuple[str, list[Cycle]]] = []
    for c in cycles:
        name = _phase_name(c)
        if groups and groups[-1][1][-1].key() == c.key() and _phase_name(groups[-1][1][-1]) == name:
            groups[-1][1].append(c)
        else:
            groups.append((name, [c]))
    return groups


def _phase_name(c: Cycle) -> str:
    """`hourly`, or `hourly *` for a cycle before which the KB pages changed."""
    return c.label.rsplit(" +", 1)[0] + (" *" if c.label.endswith(" *") else "")


def _hours(group: list[Cycle]) -> str:
    first, last = ((c.now - START) // timedelta(hours=1) for c in (group[0], group[-1]))
    return f"+{first}h" if first == last else f"+{first}h..+{last}h ({len(group)})"


def _host_cell(group: list[Cycle], host: str) -> str:
    counts = group[0].counts.get(host, HostCounts())
    return f"{counts.requests} ({counts.not_modified} x 304)" if counts.requests else "-"


def table(r: Results) -> list[tuple[str, ...]]:
    rows = []
    for name, group in folded(r.cycles):
        seconds = [c.seconds for c in group]
        busiest = max(c.requests for c in group[0].counts.values()) if group[0].counts else 0
        time_text = f"{statistics.median(seconds):.2f} s" + (f" (max {max(seconds):.2f})" if len(group) > 1 else "")
        polite = f"+{max(0, busiest - 1) * (1.0 - r.politeness):.0f} s" if r.politeness < 1.0 else "-"
        hosts = [_host_cell(group, h) for h in HOSTS]
        total = sum(c.requests for c in group[0].counts.values())
        rows.append((name, _hours(group), *hosts, str(total), str(group[0].parsed), time_text, polite))
    return rows


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("cycle", "at", KB_HOST, TECHDOCS, DOCS, "total", "parsed", "time (process)", "at 1 s gap")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for index, row in enumerate([header, *rows]):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("-+-".join("-" * width for width in widths))


def print_report(r: Results) -> None:
    if r.catch_up:
        print("\n== B: the KB pages change before each hourly cycle (*) until every notes page was fetched once ==")
    else:
        print("\n== A: the KB pages never change after the first poll (every KB request answers 304) ==")
    print(
        f"the example config (config/tracker.yaml): KB 316595 ({r.rows[0]} rows) and KB 326316 ({r.rows[1]} rows),"
        f" {r.notes} linked release-notes pages;\nhosts mapped to 127.0.0.1 through a local proxy; politeness gap"
        f" {r.politeness:g} s; each cycle is `tracker --now T run --once`, whole process\n"
    )
    print_table(table(r))
    print(
        "\nrequests per host: all requests (of which answered 304); parsed: pages answered 200;"
        "\n`at 1 s gap`: the least a 1 s politeness gap adds (requests to the busiest host - 1) x 1 s,"
        " since a polite cycle fetches one page at a time"
    )
    print(f"release-notes pages fetched at least once: {r.fetched_notes}/{r.notes}")
    for when, line in r.tiers:
        print(f"tracker sources after {when}: {line}")
    first = r.cycles[0]
    print(f"first poll: {first.poll_line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=12, help="hourly cycles after the first poll (default 12)")
    parser.add_argument("--later-hours", type=int, default=3, help="hourly cycles a day and a week on (default 3)")
    parser.add_argument("--politeness", type=float, default=0.0, help="http.politeness_delay, s (default 0)")
    args = parser.parse_args()
    hours, later, politeness = max(1, args.hours), max(1, args.later_hours), max(0.0, args.politeness)
    started = time.perf_counter()
    scenarios = []
    for catch_up in (False, True):
        with tempfile.TemporaryDirectory(prefix="bench-steady-") as tmp:
            scenarios.append(measure(Path(tmp), hours, later, politeness, catch_up))
    for results in scenarios:
        print_report(results)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    os.environ.pop("TRACKER_NOW", None)
    main()
