"""The fixture site (tests/support/site.py) with two kinds of slow page, for tests of leases and deadlines:

    site.gate("/notes/esxi-703a.html")     # answers only once the test calls site.open_gate() (or the site stops)
    site.trickle("/kb/326316.html")        # a 200 whose body comes one byte at a time, forever

A trickled page never times out on a per-read timeout: a byte always comes within it. `arrived` lists the paths
of the requests that reached a gate or a trickle, as they came.
"""

import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.support.site import FixtureSite

TRICKLE_EVERY = 0.2  # seconds between two bytes of a trickled page
GATE_LIMIT = 300.0  # seconds a gated page waits at most, so a broken test cannot hang the run


class SlowSite(FixtureSite):
    def __init__(self) -> None:
        super().__init__()
        self._gated: set[str] = set()
        self._trickled: set[str] = set()
        self._gate = threading.Event()
        self._arrived: list[str] = []

    def gate(self, *paths: str) -> None:
        with self._lock:
            self._gated.update("/" + p.lstrip("/") for p in paths)

    def open_gate(self) -> None:
        self._gate.set()

    def trickle(self, *paths: str) -> None:
        with self._lock:
            self._trickled.update("/" + p.lstrip("/") for p in paths)

    def stop_trickling(self) -> None:
        with self._lock:
            self._trickled.clear()

    @property
    def arrived(self) -> list[str]:
        with self._lock:
            return list(self._arrived)

    def stop(self) -> None:
        self._gate.set()
        super().stop()

    def _respond(self, handler: BaseHTTPRequestHandler, include_body: bool) -> None:
        key = "/" + urlsplit(handler.path).path.lstrip("/")
        with self._lock:
            gated, trickled = key in self._gated, key in self._trickled
            if gated or trickled:
                self._arrived.append(key)
        if trickled:
            self._send_trickle(handler)
            return
        if gated:
            self._gate.wait(GATE_LIMIT)
        super()._respond(handler, include_body)

    def _send_trickle(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Connection", "close")  # no length: the body ends when the connection does (never)
        handler.end_headers()
        try:
            handler.wfile.write(b"<html><body>")
            while not self._released.wait(TRICKLE_EVERY):
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up on it: what the tests want
        finally:
            handler.close_connection = True
