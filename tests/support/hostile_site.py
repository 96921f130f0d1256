"""A real HTTP server on 127.0.0.1 that behaves badly on purpose: it trickles pages, redirects elsewhere.

    hostile = HostileSite().start()
    hostile.serve("/kb.html", body)                         # a plain 200 (GET or POST)
    hostile.trickle("/kb.html", body)                       # the body one byte at a time, forever slow
    hostile.trickle("/kb.html", body, headers_too=True)     # the status line and headers too
    hostile.redirect("/kb.html", "http://localhost:PORT/x") # a 302 to anywhere
    hostile.url("/kb.html"), hostile.url("/kb.html", host="localhost")   # one server, two host names

The trickle sends one byte every `TRICKLE_GAP` seconds (well under any per-read timeout) until the client hangs
up or the server stops; `stop()` releases every trickling response at once. `requests` logs (method, path, host).
"""

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import urlsplit

TRICKLE_GAP = 0.25  # seconds between two bytes: a page of a few KB takes hours


class Hit(NamedTuple):
    method: str
    path: str
    host: str  # the Host header as sent


@dataclass(frozen=True)
class _Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    trickle: bool = False
    headers_too: bool = False
    location: str | None = None
    status: int = 200


class HostileSite:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._pages: dict[str, _Page] = {}
        self._log: list[Hit] = []
        self.trickling = threading.Event()  # set once a trickling response has started: the client is reading
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="hostile-site", daemon=True
        )

    def start(self) -> "HostileSite":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # every trickle ends at once
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    def serve(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self._set(path, _Page(body, content_type))

    def trickle(self, path: str, body: bytes, headers_too: bool = False) -> None:
        self._set(path, _Page(body, trickle=True, headers_too=headers_too))

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self._set(path, _Page(b"", location=location, status=status))

    @property
    def requests(self) -> list[Hit]:
        with self._lock:
            return list(self._log)

    def _set(self, path: str, page: _Page) -> None:
        with self._lock:
            self._pages["/" + path.lstrip("/")] = page

    def _page(self, handler: BaseHTTPRequestHandler) -> _Page | None:
        path = urlsplit(handler.path).path
        with self._lock:
            self._log.append(Hit(handler.command, handler.path, handler.headers.get("Host", "")))
            return self._pages.get(path)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site._respond(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                site._respond(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def _respond(self, handler: BaseHTTPRequestHandler) -> None:
        page = self._page(handler)
        if page is None:
            page = _Page(b"<html><title>404 Not Found</title></html>", status=404)
        head = [f"HTTP/1.1 {page.status} {'Found' if page.location else 'OK'}"]
        head += [f"Content-Type: {page.content_type}", f"Content-Length: {len(page.body)}"]
        if page.location:
            head.append(f"Location: {page.location}")
        raw_head = ("\r\n".join(head) + "\r\n\r\n").encode("ascii")
        try:
            if not page.trickle:
                handler.wfile.write(raw_head + page.body)
                return
            self.trickling.set()
            if not page.headers_too:
                handler.wfile.write(raw_head)
            for byte in (raw_head if page.headers_too else b"") + page.body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                if self._stopped.wait(TRICKLE_GAP):
                    return
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up on us: what these tests want
        handler.close_connection = True
