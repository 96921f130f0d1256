"""A real HTTP server on 127.0.0.1 that serves the fixture pages, for tests that fetch like the tracker does.

    site.use("story/common")              # overlay of fixture folders, first one holding the path wins
    site.stage("07-2021-11-22")           # a stage of the 7.0 U3 story bundled in tracker/demo/story
    httpx.get(site.url("kb/316595.html"))

Every file gets an ETag (its content hash) and a Last-Modified; a conditional GET that matches gets 304. The
Last-Modified of a path moves forward whenever the content served at that path changes (a new stage), so a
client that only sends If-Modified-Since sees the change too. Faults: `fail(path, status)`, `hold(path, s)`
(waits on an Event, released at shutdown), `serve(path, body)` for ad-hoc bodies and `serve_huge(path, n)`
streams n bytes without holding them in memory. `requests` logs (method, path, status, headers).
"""

import hashlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STORY = Path(__file__).resolve().parents[2] / "tracker" / "demo" / "story"  # also what `tracker demo` serves

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}
# Fixtures meant to be non-UTF-8 say so in their name: kb/vmware-2143832-esxi.latin1.html.
_LATIN1_MARK = ".latin1."
_CHUNK = 64 * 1024


class Hit(NamedTuple):
    method: str
    path: str  # as requested, with its query string
    status: int
    headers: dict[str, str]


@dataclass(frozen=True)
class _Body:
    content: bytes
    content_type: str
    status: int = 200


class FixtureSite:
    """Serves tests/fixtures (or an overlay of its folders) over real HTTP; see the module docstring."""

    def __init__(self, root: Path = FIXTURES) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._overlay: tuple[Path, ...] = (root,)
        self._faults: dict[str, int] = {}
        self._holds: dict[str, float] = {}
        self._served: dict[str, _Body] = {}
        self._huge: dict[str, int] = {}
        self._log: list[Hit] = []
        self._versions: dict[str, tuple[str, float]] = {}  # path -> (etag, last-modified epoch)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.handle_error = self._handle_error  # type: ignore[method-assign]
        # A short poll interval: shutdown() waits for the serve loop to notice, and tests start one site each.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fixture-site", daemon=True
        )

    def _handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (a size cap, a timeout, an error status) is what tests provoke: quiet."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        ThreadingHTTPServer.handle_error(self._server, request, client_address)  # type: ignore[arg-type]

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> "FixtureSite":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # let held responses finish at once
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- the API tests use ------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def use(self, *dirs: str) -> None:
        """Serve from these fixture folders, first match wins; no folders means tests/fixtures itself."""
        folders = tuple(self.root / d for d in dirs) or (self.root,)
        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            raise FileNotFoundError(f"no fixture folder {missing}")
        with self._lock:
            self._overlay = folders

    def stage(self, name: str) -> None:
        self.use(str(STORY / name), str(STORY / "common"))

    def fail(self, path: str, status: int) -> None:
        with self._lock:
            self._faults[_key(path)] = status

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._holds.clear()

    def hold(self, path: str, seconds: float) -> None:
        with self._lock:
            self._holds[_key(path)] = seconds

    def serve(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200) -> None:
        with self._lock:
            self._served[_key(path)] = _Body(body, content_type, status)
            self._huge.pop(_key(path), None)  # what is served now replaces a huge body

    def serve_huge(self, path: str, size_bytes: int) -> None:
        with self._lock:
            self._huge[_key(path)] = size_bytes

    @property
    def requests(self) -> list[Hit]:
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    # --- serving ----------------------------------------------------------------------------------------------
    def _record(self, hit: Hit) -> None:
        with self._lock:
            self._log.append(hit)

    def _lookup(self, key: str) -> tuple[int | None, float, _Body | None, int | None]:
        """(fault status, hold seconds, body, huge size) for a path, read under the lock."""
        with self._lock:
            fault, hold, huge = self._faults.get(key), self._holds.get(key, 0.0), self._huge.get(key)
            body = self._served.get(key)
            overlay = self._overlay
        if body is None and huge is None and fault is None:
            body = _file_body(overlay, key)
        return fault, hold, body, huge

    def _version(self, key: str, content: bytes) -> tuple[str, float]:
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        with self._lock:
            known = self._versions.get(key)
            if known and known[0] == etag:
                return known
            now = float(int(_clock()))
            # HTTP dates have one-second precision: a changed body must get a strictly later Last-Modified.
            modified = max(now, known[1] + 1) if known else now
            self._versions[key] = (etag, modified)
            return etag, modified

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._released.wait(seconds)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site._respond(self, include_body=True)

            def do_HEAD(self) -> None:
                site._respond(self, include_body=False)

            def log_message(self, format: str, *args: object) -> None:
                return  # keep pytest output clean; the log is `site.requests`

        return Handler

    def _respond(self, handler: BaseHTTPRequestHandler, include_body: bool) -> None:
        key = _key(urlsplit(handler.path).path)
        headers = dict(handler.headers.items())
        fault, hold, body, huge = self._lookup(key)
        self._wait(hold)
        if fault is not None:
            status = self._send(handler, fault, b"<html><title>Error</title><h1>Server error</h1></html>", include_body)
        elif huge is not None:
            status = self._send_huge(handler, huge, include_body)
        elif body is None:
            status = self._send(handler, 404, b"<html><title>404 Not Found</title></html>", include_body)
        else:
            status = self._send_versioned(handler, key, body, headers, include_body)
        del status  # recorded by _send before the response went out, so a client never sees an unrecorded hit

    def _send_versioned(
        self, handler: BaseHTTPRequestHandler, key: str, body: _Body, headers: dict[str, str], include_body: bool
    ) -> int:
        etag, modified = self._version(key, body.content)
        extra = {"ETag": etag, "Last-Modified": formatdate(modified, usegmt=True)}
        if body.status == 200 and _not_modified(headers, etag, modified):
            return self._send(handler, 304, b"", False, extra=extra)
        return self._send(handler, body.status, body.content, include_body, body.content_type, extra)

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        content: bytes,
        include_body: bool,
        content_type: str = "text/html; charset=utf-8",
        extra: dict[str, str] | None = None,
    ) -> int:
        self._record(Hit(handler.command, handler.path, status, dict(handler.headers.items())))
        handler.send_response(status)
        if status != 304:
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(content)))
        for name, value in (extra or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if include_body and status != 304:
            _write(handler, [content])
        return status

    def _send_huge(self, handler: BaseHTTPRequestHandler, size: int, include_body: bool) -> int:
        self._record(Hit(handler.command, handler.path, 200, dict(handler.headers.items())))
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        if include_body:
            _write(handler, _filler(size))
        return 200


def _key(path: str) -> str:
    return "/" + path.lstrip("/")


def _clock() -> float:
    return time.time()  # only stamps Last-Modified; tests never wait on the clock


def _file_body(overlay: tuple[Path, ...], key: str) -> _Body | None:
    relative = PurePosixPath(key.lstrip("/"))
    if ".." in relative.parts or not relative.parts:
        return None
    for folder in overlay:
        candidate = folder.joinpath(*relative.parts)
        if candidate.is_file():
            return _Body(candidate.read_bytes(), _content_type(candidate.name))
    return None


def _content_type(name: str) -> str:
    if _LATIN1_MARK in name:
        return "text/html; charset=iso-8859-1"
    suffix = PurePosixPath(name).suffix.lower()
    return _TYPES.get(suffix, "application/octet-stream")


def _not_modified(headers: dict[str, str], etag: str, modified: float) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    if "if-none-match" in lowered:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = {t.strip() for t in lowered["if-none-match"].split(",")}
        return etag in tags or "*" in tags or f"W/{etag}" in tags
    if "if-modified-since" in lowered:
        try:
            since = parsedate_to_datetime(lowered["if-modified-since"]).timestamp()
        except (TypeError, ValueError):
            return False
        return modified <= since
    return False


def _filler(size: int) -> Iterator[bytes]:
    block = (b"<p>" + b"x" * 1017 + b"</p>\n") * (_CHUNK // 1024)
    remaining = size
    while remaining > 0:
        piece = block[: min(remaining, len(block))]
        remaining -= len(piece)
        yield piece


def _write(handler: BaseHTTPRequestHandler, pieces: list[bytes] | Iterator[bytes]) -> None:
    try:
        for piece in pieces:
            handler.wfile.write(piece)
    except (BrokenPipeError, ConnectionResetError):
        return  # the client stopped reading (a size cap or a timeout): that is what such tests provoke
