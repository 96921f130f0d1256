"""A webhook receiver (or a vendor page) that hangs: it keeps each POST (or GET) it gets, so a test knows the
request is in flight, then holds the answer, trickling a header one byte at a time so that no per-read timeout
ever fires (apprise's are 4 s), until `release()` or the client goes away (a killed sender).

    with HoldingReceiver() as stuck:
        stuck.hold()              # every request from now on hangs; hold(1): only the next one
        stuck.wait_for(1)         # a send is in flight
        stuck.release()           # held requests are answered 200, new ones too
        stuck.arrivals            # (monotonic time, Post) for each request, in order

Waiting is on conditions; the trickle's own pace (a byte every 0.2 s) is the receiver's, never the test's.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.receivers import Post, WebhookReceiver, _parse

TRICKLE = 0.2  # seconds between two bytes of a held answer


class HoldingReceiver(WebhookReceiver):
    def __init__(self) -> None:
        super().__init__()
        self._to_hold: int | None = 0  # None: hold every request
        self._released = threading.Event()
        self._times: list[tuple[float, Post]] = []

    def hold(self, count: int | None = None) -> None:
        """Hold the next `count` requests (None: all of them, until `release()`)."""
        with self._lock:
            self._to_hold = count
            self._released.clear()

    def release(self) -> None:
        with self._lock:
            self._to_hold = 0
            self._released.set()

    def stop(self) -> None:
        self._released.set()  # held answers end, so their threads do
        super().stop()

    @property
    def arrivals(self) -> list[tuple[float, Post]]:
        with self._lock:
            return list(self._times)

    def _take_hold(self) -> threading.Event | None:
        """The event a new request waits on, or None when it is answered at once."""
        with self._lock:
            if self._to_hold is None:
                return self._released
            if self._to_hold > 0:
                self._to_hold -= 1
                return self._released
            return None

    def _arrived(self, post: Post) -> None:
        with self._lock:
            self._times.append((time.monotonic(), post))
        self.inbox.add(post)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = dict(self.headers.items())
                parsed_json, form = _parse(body, headers.get("Content-Type", ""))
                held = receiver._take_hold()
                receiver._arrived(Post(self.path, headers, body, parsed_json, form))
                try:
                    if held is not None:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Held: ")
                        while not held.wait(TRICKLE):
                            self.wfile.write(b"a")
                            self.wfile.flush()
                        self.wfile.write(b"\r\n")
                    else:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.write(b"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                    self.wfile.flush()
                except OSError:  # the sender gave up or was killed: nothing more to say
                    pass
                self.close_connection = True

            do_GET = do_POST  # a vendor page that hangs, for a poll cycle in flight

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
