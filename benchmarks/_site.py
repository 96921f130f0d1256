"""A local stand-in for the vendor's site: KB-shaped pages, served with ETag / Last-Modified and 304s.

The pages have the shape of Broadcom KB 316595 (ESXi build numbers): article chrome, inline scripts and styles
that make up most of the ~300 KB, then one table per major version under `<h2>ESXi 8.0 🔝</h2>`, columns
`Version | Release Name | Release Date | Build Number | Available as`, newest build first. Release names are plain
text (no links), so a poll follows no release notes, unless the pages are written with `links=True` (each release
name then links to its notes page, as the vendor's does; the benchmark keeps `follow_limit: 0`). Each page shifts its
build numbers so that every page parses to its own rows. `Site.change` gives a page a new version (new rows on top
of its 8.0 table, a new ETag and Last-Modified): a cycle where one page of many changed.

The server binds 127.0.0.1 on a random port, counts requests, conditional requests and 304s, and shuts itself
down after `lifetime` seconds even if nobody stops it.
"""

import hashlib
import random
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE_BYTES = 300_000
ARTICLE_PATH = "/external/article/316595"


# --- the rows -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    version: str
    name: str
    released: date
    build: int
    available: str


@dataclass(frozen=True)
class Line:
    """One major version's table: its GA build and date, how far apart its builds and releases are."""

    label: str  # "8.0"
    ga_build: int
    ga_date: date
    build_step: int
    day_step: int
    names: tuple[tuple[str, str], ...]  # (version label, release name), oldest first


def _modern_names(line: str, letters_per_update: tuple[int, ...], security_every: int = 0) -> list[tuple[str, str]]:
    """7.0 / 8.0 names: `ESXi 8.0 GA`, `ESXi 8.0a`, `ESXi 8.0 Update 3e`, `ESXi 7.0 Update 3d (Security Only)`."""
    names: list[tuple[str, str]] = []
    for update, letters in enumerate(letters_per_update):
        level = f"ESXi {line} GA" if update == 0 else f"ESXi {line} Update {update}"
        names.append((f"ESXi {line}.{update}", level))
        for index in range(letters):
            letter = "abcdefghijklmnopqrstuvwxyz"[index]
            name = f"ESXi {line}{letter}" if update == 0 else f"ESXi {line} Update {update}{letter}"
            kind = "P" if index % 2 else "EP"
            names.append((f"ESXi {line}.{update} {kind}{index + 1:02d}", name))
            if security_every and index % security_every == security_every - 1:
                names.append((f"ESXi {line}.{update} {kind}{index + 1:02d}", f"{name} (Security Only)"))
    return names


def _patch_id_names(line: str, first_month: date, patches: int) -> list[tuple[str, str]]:
    """6.x names: updates by name (`ESXi 6.7 U1`), patches by id (`ESXi670-201810001`), labelled EP / P."""
    compact = line.replace(".", "")
    names: list[tuple[str, str]] = [(f"ESXi {line} GA", f"ESXi {line} GA")]
    month = first_month
    for index in range(patches):
        if index in (patches // 4, patches // 2, 3 * patches // 4):
            update = 1 + [patches // 4, patches // 2, 3 * patches // 4].index(index)
            names.append((f"ESXi {line} Update {update}", f"ESXi {line} U{update}"))
        month = (month.replace(day=1) + timedelta(days=40)).replace(day=1)
        label = f"ESXi {line} EP {index + 1:02d}" if index % 3 else f"ESXi {line} P{index // 3 + 1:02d}"
        names.append((label, f"ESXi{compact}0-{month:%Y%m}{1 + index % 2:03d}"))
    return names


LINES = (
    Line("8.0", 20_513_097, date(2022, 10, 11), 150_000, 39, tuple(_modern_names("8.0", (7, 4, 5, 11)))),
    Line("7.0", 15_843_807, date(2020, 4, 2), 190_000, 48, tuple(_modern_names("7.0", (3, 5, 5, 22), 5))),
    Line("6.7", 8_169_922, date(2018, 4, 17), 200_000, 45, tuple(_patch_id_names("6.7", date(2018, 4, 1), 32))),
    Line("6.5", 4_564_106, date(2016, 11, 15), 90_000, 50, tuple(_patch_id_names("6.5", date(2016, 11, 1), 34))),
)
_AVAILABLE = ("ISO / Depot", "Depot (Patch)", "Broadcom Support Portal", "ISO / Depot / VUM")


def rows_of(line: Line, page: int) -> list[Row]:
    """The line's rows on page `page`, newest first; page p shifts every build by 13 * p."""
    rows = [
        Row(
            version=version,
            name=name,
            released=line.ga_date + timedelta(days=index * line.day_step),
            build=line.ga_build + index * line.build_step + 13 * page,
            available=_AVAILABLE[index % len(_AVAILABLE)],
        )
        for index, (version, name) in enumerate(line.names)
    ]
    return rows[::-1]


# --- the page -------------------------------------------------------------------------------------------------
_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Build numbers and versions of VMware ESXi/ESX</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/kb/theme.css"><link rel="icon" href="/favicon.ico">
"""
_CHROME_TOP = """<body class="kb-article"><header class="site-header"><nav>
<a href="/">Broadcom</a> <a href="/products">Products</a> <a href="/support">Support</a>
<a href="/login" class="login">Log In</a> <a href="/register">Register</a></nav>
<form action="/search" role="search"><input type="search" name="q" placeholder="Search knowledge base"></form>
</header>
<ol class="breadcrumbs"><li><a href="/">Home</a></li><li><a href="/external">Knowledge Base</a></li>
<li>VMware vSphere ESXi</li></ol>
<main><article>
<h1>Build numbers and versions of VMware ESXi/ESX</h1>
<div class="meta">Article ID: 316595 · Updated On: {updated} · Products: VMware vSphere ESXi</div>
<h2>Issue/Introduction</h2>
<p>This article lists the build numbers and versions of VMware ESXi/ESX. The build number of a host is shown in
the vSphere Client and by <code>vmware -vl</code>.</p>
<h2>Resolution</h2>
"""
_CHROME_BOTTOM = """<h2>Additional Information</h2>
<p>For vCenter Server build numbers, see KB 326316.</p>
</article></main>
<footer><a href="/privacy">Privacy</a> <a href="/terms">Terms of Use</a> <span>Copyright © 2005-2026
Broadcom. All Rights Reserved.</span></footer>
"""
_WORDS = (
    *("analytics", "dataLayer", "push", "event", "kbView", "articleId", "locale", "en_US", "session", "token"),
    *("render", "widget", "container", "props", "state", "hydrate", "chunk", "module", "export", "default"),
    *("function", "return", "const", "let", "var", "if", "else", "null", "true", "false"),
)


def _filler(page: int, size: int) -> str:
    """Inline styles and scripts, as the vendor's pages carry, until the page reaches `size` characters."""
    pick = random.Random(page)
    style = "".join(f".kb-c{i}{{margin:{i % 9}px;color:#{pick.randrange(16**6):06x}}}\n" for i in range(400))
    parts = [f"<style>\n{style}</style>\n"]
    length = len(parts[0])
    while length < size:
        words = " ".join(pick.choices(_WORDS, k=1500))
        block = f'<script>window.__kb_{length} = {{"page": {page}, "blob": "{words}"}};</script>\n'
        parts.append(block)
        length += len(block)
    return "".join(parts)


def _newer(line: Line, page: int, version: int) -> list[Row]:
    """`version` builds newer than the line's newest (a page's later versions list them on top), newest first;
    at most 15 (8.0 Update 3l to 3z)."""
    newest = rows_of(line, page)[0]
    return [
        Row(
            f"ESXi {line.label}.3 P{40 + n:02d}",
            f"ESXi {line.label} Update 3{'lmnopqrstuvwxyz'[n - 1]}",
            newest.released + timedelta(days=n),
            newest.build + n * 1_000,
            "Depot (Patch)",
        )
        for n in range(version, 0, -1)
    ]


def _name(row: Row, links: bool) -> str:
    return f'<a href="/docs/release-notes/esxi-{row.build}.html">{row.name}</a>' if links else row.name


def _table(line: Line, page: int, links: bool = False, version: int = 0) -> str:
    header = "".join(
        f"<td><strong>{h}</strong></td>"
        for h in ("Version", "Release Name", "Release Date", "Build Number", "Available as")
    )
    rows = (_newer(line, page, version) if version else []) + rows_of(line, page)
    body = "\n".join(
        f"<tr><td>{r.version}</td><td>{_name(r, links)}</td><td>{r.released:%Y/%m/%d}</td><td>{r.build}</td>"
        f"<td>{r.available}</td></tr>"
        for r in rows
    )
    return (
        f'<h2>ESXi {line.label} 🔝</h2>\n<table class="kb-table"><tbody><tr>{header}</tr>\n{body}\n</tbody></table>\n'
    )


def page_html(page: int, links: bool = False, version: int = 0) -> bytes:
    """Page `page` of the site: chrome, filler, one table per line; about PAGE_BYTES bytes. A later `version`
    lists that many newer builds on top of its first table."""
    tables = "".join(_table(line, page, links, version if index == 0 else 0) for index, line in enumerate(LINES))
    top = _CHROME_TOP.format(updated="05-27-2026")
    fixed = len(_HEAD) + len(top) + len(tables) + len(_CHROME_BOTTOM) + len("</head>\n</body></html>\n")
    filler = _filler(page, PAGE_BYTES - fixed)
    return f"{_HEAD}{filler}</head>\n{top}{tables}{_CHROME_BOTTOM}</body></html>\n".encode()


def rows_per_page() -> int:
    return sum(len(line.names) for line in LINES)


@dataclass(frozen=True)
class Page:
    path: str  # URL path
    file: Path
    content: bytes
    etag: str
    last_modified: datetime

    @property
    def last_modified_header(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)


MODIFIED = datetime(2026, 5, 27, 8, 0, tzinfo=UTC)


def write_pages(folder: Path, count: int, links: bool = False) -> list[Page]:
    """Generate `count` pages into `folder`; each page has its own ETag and Last-Modified."""
    folder.mkdir(parents=True, exist_ok=True)
    return [_write(folder / f"build-numbers-{n:02d}.html", n, links, 0) for n in range(count)]


def _write(file: Path, number: int, links: bool, version: int) -> Page:
    content = page_html(number, links, version)
    file.write_bytes(content)
    etag = '"' + hashlib.sha256(content).hexdigest()[:20] + '"'
    modified = MODIFIED - timedelta(hours=number) + timedelta(minutes=version)
    return Page(f"{ARTICLE_PATH}/{file.name}", file, content, etag, modified)


# --- the server -----------------------------------------------------------------------------------------------
@dataclass
class Counts:
    requests: int = 0
    conditional: int = 0  # carried If-None-Match or If-Modified-Since
    not_modified: int = 0  # answered 304
    full: int = 0  # answered 200 with the page


class Site:
    """The pages by path, and what the server answered since the last `reset`."""

    def __init__(self, pages: list[Page]) -> None:
        self.pages = {p.path: p for p in pages}
        self.versions = {p.path: 0 for p in pages}
        self.base_url = ""
        self._counts = Counts()
        self._lock = threading.Lock()

    def url(self, page: Page) -> str:
        return self.base_url + page.path

    def change(self, page: Page, links: bool = False) -> None:
        """Serve the page's next version from now on: one more new build on top, new validators."""
        number = list(self.pages).index(page.path)
        with self._lock:
            self.versions[page.path] += 1
            version = self.versions[page.path]
        self.pages[page.path] = _write(page.file, number, links, version)

    def reset(self) -> Counts:
        """The counts so far; counting starts again from zero."""
        with self._lock:
            counts, self._counts = self._counts, Counts()
        return counts

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        page = self.pages.get(request.path)
        if page is None:
            send(request, 404, {}, b"not found")
            return
        validators = {"ETag": page.etag, "Last-Modified": page.last_modified_header}
        conditional, unchanged = _is_unchanged(request, page)
        with self._lock:
            self._counts.requests += 1
            self._counts.conditional += conditional
            self._counts.not_modified += unchanged
            self._counts.full += not unchanged
        if unchanged:
            send(request, 304, validators, b"")
        else:
            send(request, 200, {**validators, "Content-Type": "text/html; charset=utf-8"}, page.content)


def _is_unchanged(request: BaseHTTPRequestHandler, page: Page) -> tuple[bool, bool]:
    """(conditional?, not modified?) per RFC 9110: If-None-Match wins over If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_none_match:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return True, page.etag in tags or "*" in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return True, False
        return True, since.tzinfo is not None and page.last_modified <= since
    return False, False


def send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    if status != 304:
        request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    if body:
        request.wfile.write(body)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the vendor's CDN does
        timeout = 30  # an idle kept-alive connection closes by itself

        def do_GET(self) -> None:
            site.answer(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(pages: list[Page], lifetime: float = 600.0) -> Iterator[Site]:
    """Serve the pages on 127.0.0.1 (random port) in a background thread; stop on exit or after `lifetime` s."""
    site = Site(pages)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    deadline = threading.Timer(lifetime, server.shutdown)
    deadline.daemon = True
    deadline.start()
    try:
        yield site
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def note(text: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"bench: {text} ...", file=sys.stderr, flush=True)
