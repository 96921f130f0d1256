"""Real local receivers on 127.0.0.1 for the notification tests: a mail server and a webhook endpoint.

    with MailReceiver() as mail:                      # aiosmtpd on a free port
        send([mail.url("ops@example.com")], ...)
        [message] = mail.wait_for(1)                  # Mail(to, subject, text, html, message)

    with WebhookReceiver() as hook:                   # ThreadingHTTPServer on a free port
        hook.fail_next(2)                             # the next two POSTs get 500, then 200 again
        hook.fail_always(); hook.recover()
        hook.go_down(); hook.come_up()                # a closed port, then the same port again
        [post] = hook.wait_for(1)                     # Post(path, headers, body, json, form)

    with slack_webhook_pointed_at(hook.url("/services")):   # apprise's Slack plugin posts to the receiver
        ...

Waiting is on a condition with a deadline, never a sleep.
"""

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

WAIT = 10.0  # seconds a test waits for a delivery before it fails


def free_port() -> int:
    """A port nobody listens on right now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


T = TypeVar("T")


class _Inbox(Generic[T]):
    """A list that tests can wait on: `wait_for(n)` returns once n items arrived, or fails at the deadline."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._changed = threading.Condition()

    def add(self, item: T) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def items(self) -> list[T]:
        with self._changed:
            return list(self._items)

    def wait_for(self, count: int, timeout: float = WAIT) -> list[T]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._items) >= count, timeout):
                raise AssertionError(f"expected {count} deliveries within {timeout}s, got {len(self._items)}")
            return list(self._items)


# --- mail ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]  # the envelope recipients
    subject: str
    text: str | None
    html: str | None
    message: EmailMessage


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    return None if part is None else str(part.get_content())


class _MailHandler:
    def __init__(self, inbox: _Inbox[Mail]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        subject = str(message["subject"] or "")
        self.inbox.add(
            Mail(tuple(envelope.rcpt_tos), subject, _part(message, "plain"), _part(message, "html"), message)
        )
        return "250 Message accepted for delivery"


class MailReceiver:
    """A plain SMTP server (no TLS, no AUTH) that keeps every message it receives."""

    def __init__(self) -> None:
        self.inbox: _Inbox[Mail] = _Inbox()
        self.port = free_port()
        self._controller = Controller(_MailHandler(self.inbox), hostname="127.0.0.1", port=self.port)

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def url(self, *to: str, sender: str = "tracker@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={','.join(to)}"

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Mail]:
        return self.inbox.wait_for(count, timeout)

    @property
    def messages(self) -> list[Mail]:
        return self.inbox.items()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- webhooks -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    path: str  # with its query string
    headers: dict[str, str]
    body: bytes
    json: Any  # the parsed JSON body, or None
    form: dict[str, list[str]]  # the parsed form body, or {}


def _parse(body: bytes, content_type: str) -> tuple[Any, dict[str, list[str]]]:
    if "json" in content_type:
        return json.loads(body), {}
    if "form" in content_type:
        return None, parse_qs(body.decode("utf-8"))
    return None, {}


class WebhookReceiver:
    """Keeps every POST; answers 200, or `status` while failing (`fail_next(n)`, `fail_always()`); `slow(s)` makes
    every answer take s seconds (a busy receiver: senders overlap)."""

    def __init__(self) -> None:
        self.inbox: _Inbox[Post] = _Inbox()
        self.port = free_port()
        self._lock = threading.Lock()
        self._failures: int | None = 0  # None: fail every request
        self._status = 500
        self._delay = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="webhook", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(WAIT)
            self._thread = None

    def go_down(self) -> None:
        """Close the port: a client now gets 'connection refused'."""
        self.stop()

    def come_up(self) -> None:
        """Listen again, on the same port."""
        self.start()

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures, self._status = count, status

    def fail_always(self, status: int = 500) -> None:
        with self._lock:
            self._failures, self._status = None, status

    def recover(self) -> None:
        self.fail_next(0)

    def slow(self, seconds: float) -> None:
        with self._lock:
            self._delay = seconds

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Post]:
        return self.inbox.wait_for(count, timeout)

    @property
    def posts(self) -> list[Post]:
        return self.inbox.items()

    def _next_status(self) -> int:
        with self._lock:
            if self._failures is None:
                return self._status
            if self._failures > 0:
                self._failures -= 1
                return self._status
            return 200

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        parsed_json, form = _parse(body, headers.get("Content-Type", ""))
        self.inbox.add(Post(path, headers, body, parsed_json, form))
        with self._lock:
            delay = self._delay
        time.sleep(delay)  # the receiver's own pace, as a real one has; the test waits on `inbox`, never on this
        return self._next_status()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receive: Callable[[str, dict[str, str], bytes], int] = self._receive

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receive(self.path, dict(self.headers.items()), body)
                answer = b"ok" if status < 400 else b"failing on purpose"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read `posts`, not stderr

        return Handler

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


# --- Slack --------------------------------------------------------------------------------------------------


@contextmanager
def slack_webhook_pointed_at(base_url: str) -> Iterator[None]:
    """Make apprise's Slack plugin post webhooks to `base_url` (it appends /T/B/X) instead of hooks.slack.com.

    There is no URL option for the host: the plugin reads the class attribute `webhook_url` at send time.
    """
    from apprise.plugins.slack import NotifySlack

    original = NotifySlack.webhook_url
    NotifySlack.webhook_url = base_url
    try:
        yield
    finally:
        NotifySlack.webhook_url = original
